import { createHash } from 'node:crypto';
import type { Artifact } from '../core/manifest.js';
import type { ReportRef } from '../core/reports.js';
import type { ContentStore } from '../evidence/content-store.js';
import { activityReadControl, artifactReads, isTooLarge, openUri, type ReadOptions, type ReadSettings } from './read-uri.js';
import { isUriNotAllowed } from './uri-guard.js';
import { SEVERITIES, type Severity } from '../core/policy.js';

export interface ScanFinding {
  readonly artifactUri: string;
  readonly severity: Severity;
  readonly code: 'digest-mismatch' | 'artifact-unreachable' | 'pickle-format' | 'uri-not-allowed' | 'artifact-too-large';
  readonly message: string;
}

export interface ScanReport {
  readonly findings: readonly ScanFinding[];
  /** Highest severity found; `info` when nothing was found. */
  readonly maxSeverity: Severity;
  /** sha256 actually read for each artifact, for the audit trail; never for a refused or unfinished read. */
  readonly digests: Readonly<Record<string, string>>;
}

/** History carries at most this many findings; the full list is in the content store. */
const FINDINGS_IN_SUMMARY = 20;

/** Pickle streams start with PROTO (0x80) and a protocol number; loading one can run arbitrary code. */
function looksLikePickle(head: Buffer): boolean {
  return head.length >= 2 && head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5;
}

/** Streams the artifact once, hashing it and keeping its first bytes for format sniffing. */
async function readArtifact(uri: string, options: ReadOptions): Promise<{ sha256: string; head: Buffer }> {
  const hash = createHash('sha256');
  let head = Buffer.alloc(0);
  for await (const chunk of await openUri(uri, options)) {
    const buf = chunk as Buffer;
    hash.update(buf);
    if (head.length < 16) head = Buffer.concat([head, buf.subarray(0, 16 - head.length)]);
  }
  return { sha256: hash.digest('hex'), head };
}

/** Why an artifact could not be read, as a finding; a cancelled read is not a finding but the activity's end. */
function unreadable(artifact: Artifact, err: unknown, options: ReadOptions): ScanFinding {
  if (options.signal?.aborted) throw options.signal.reason;
  const artifactUri = artifact.uri;
  const message = (err as Error).message;
  // Refused and oversized inputs block at any severity a template chooses: nothing about them was verified.
  if (isUriNotAllowed(err)) return { artifactUri, severity: 'critical', code: 'uri-not-allowed', message };
  if (isTooLarge(err)) return { artifactUri, severity: 'critical', code: 'artifact-too-large', message };
  return { artifactUri, severity: 'high', code: 'artifact-unreachable', message: `could not read the artifact: ${message}` };
}

export async function scanArtifact(artifact: Artifact, options: ReadOptions): Promise<{ findings: ScanFinding[]; sha256: string | null }> {
  let read: { sha256: string; head: Buffer };
  try {
    read = await readArtifact(artifact.uri, options);
  } catch (err) {
    return { sha256: null, findings: [unreadable(artifact, err, options)] };
  }
  const findings: ScanFinding[] = [];
  if (read.sha256 !== artifact.sha256) {
    findings.push({
      artifactUri: artifact.uri,
      severity: 'critical',
      code: 'digest-mismatch',
      message: `sha256 is ${read.sha256}, the manifest declares ${artifact.sha256}`,
    });
  }
  if (looksLikePickle(read.head)) {
    findings.push({
      artifactUri: artifact.uri,
      severity: 'medium',
      code: 'pickle-format',
      message: 'pickle artifact: loading it executes code, so only load it in a sandboxed runtime',
    });
  }
  return { findings, sha256: read.sha256 };
}

export function maxSeverity(findings: readonly ScanFinding[]): Severity {
  return findings.reduce<Severity>(
    (max, f) => (SEVERITIES.indexOf(f.severity) > SEVERITIES.indexOf(max) ? f.severity : max),
    'info',
  );
}

export async function scanArtifacts(artifacts: readonly Artifact[], options: ReadOptions): Promise<ScanReport> {
  const results = await Promise.all(artifacts.map((a) => scanArtifact(a, options)));
  const findings = results.flatMap((r) => r.findings);
  const digests = Object.fromEntries(artifacts.flatMap((a, i) => (results[i]?.sha256 ? [[a.uri, results[i].sha256]] : [])));
  return { findings, maxSeverity: maxSeverity(findings), digests };
}

export function scanningActivities(store: ContentStore, reading: ReadSettings) {
  return {
    /**
     * The security-scan gate: integrity (declared digest vs bytes) and unsafe serialisation formats. Reads
     * only allowed locations, within the size limit, heartbeating the bytes read; cancellation aborts the reads.
     */
    async scanArtifacts(input: { modelVersionId: string; artifacts: readonly Artifact[] }): Promise<{ maxSeverity: Severity; report: ReportRef }> {
      const scan = await scanArtifacts(input.artifacts, { ...artifactReads(reading), ...activityReadControl() });
      const digest = await store.put({ kind: 'scan', modelVersionId: input.modelVersionId, ...scan });
      const counts = Object.fromEntries(SEVERITIES.map((s) => [s, scan.findings.filter((f) => f.severity === s).length]));
      const summary = { maxSeverity: scan.maxSeverity, counts, findings: scan.findings.slice(0, FINDINGS_IN_SUMMARY) };
      return { maxSeverity: scan.maxSeverity, report: { kind: 'scan', digest, summary } };
    },
  };
}
