import { createHash } from 'node:crypto';
import type { Artifact } from '../core/manifest.js';
import type { ReportRef } from '../core/reports.js';
import type { ContentStore } from '../evidence/content-store.js';
import { activityReadControl, artifactReads, isTooLarge, openUri, type ReadOptions, type ReadSettings } from './read-uri.js';
import { isUriNotAllowed } from './uri-guard.js';
import { SEVERITIES, type Severity } from '../core/policy.js';
import { scanContent, type ContentCode } from './scan/content.js';
import { checkDependencies, loadAdvisories, type DependencyFinding } from './scan/dependencies.js';
import { licenseAllowed } from './scan/license.js';
import { scanSettingsFromEnv, type ScanSettings } from './scan/settings.js';

export type ScanCode =
  | 'digest-mismatch'
  | 'artifact-unreachable'
  | 'pickle-format'
  | 'uri-not-allowed'
  | 'artifact-too-large'
  | ContentCode
  | DependencyFinding['code']
  | 'license-missing'
  | 'license-unrecognised'
  | 'license-not-allowed';

export interface ScanFinding {
  /** The artifact the finding is about; empty for findings about the manifest (dependencies, license). */
  readonly artifactUri: string;
  readonly severity: Severity;
  readonly code: ScanCode;
  readonly message: string;
  /** Path inside the artifact (a zip member) when the finding is about one. */
  readonly member?: string;
  /** Byte offset (in the member, if any) of what was found. */
  readonly offset?: number;
  /** `module.name` a pickle imports. */
  readonly import?: string;
  /** The manifest dependency a finding is about. */
  readonly dependency?: string;
}

/** What one artifact turned out to hold, for the full report. */
export interface ArtifactContents {
  readonly uri: string;
  readonly pickles: number;
  /** Every global its pickles import, allowed ones included. */
  readonly imports: readonly string[];
}

export interface ScanReport {
  readonly findings: readonly ScanFinding[];
  /** Highest severity found; `info` when nothing was found. */
  readonly maxSeverity: Severity;
  /** sha256 actually read for each artifact, for the audit trail; never for a refused or unfinished read. */
  readonly digests: Readonly<Record<string, string>>;
  /** Absent in reports written before the content scan. */
  readonly contents?: readonly ArtifactContents[];
  readonly license?: string | null;
}

/** The manifest fields besides artifacts the scan judges; absent in inputs recorded before they were passed. */
export interface ScanSubject {
  readonly dependencies?: readonly string[];
  readonly license?: string;
}

/** History carries at most this many findings; the full list is in the content store. */
const FINDINGS_IN_SUMMARY = 20;

const basename = (uri: string) => decodeURIComponent(new URL(uri).pathname.split('/').pop() ?? '');

/** Why an artifact could not be read, as a finding; a cancelled read is not a finding but the activity's end. */
function unreadable(artifact: Pick<Artifact, 'uri'>, err: unknown, options: ReadOptions): ScanFinding {
  if (options.signal?.aborted) throw options.signal.reason;
  const artifactUri = artifact.uri;
  const message = (err as Error).message;
  // Refused and oversized inputs block at any severity a template chooses: nothing about them was verified.
  if (isUriNotAllowed(err)) return { artifactUri, severity: 'critical', code: 'uri-not-allowed', message };
  if (isTooLarge(err)) return { artifactUri, severity: 'critical', code: 'artifact-too-large', message };
  return { artifactUri, severity: 'high', code: 'artifact-unreachable', message: `could not read the artifact: ${message}` };
}

export interface ArtifactScan {
  readonly findings: ScanFinding[];
  readonly sha256: string | null;
  readonly contents?: ArtifactContents;
  readonly licenseFiles?: readonly { readonly path: string; readonly license: string | null }[];
}

/**
 * Streams the artifact once: its sha256 against the declared one, and its content (pickle imports, zip
 * members, secrets, license files) as the bytes pass, within the read's size limit.
 */
export async function scanArtifact(artifact: Pick<Artifact, 'uri' | 'sha256'>, options: ReadOptions): Promise<ArtifactScan> {
  const hash = createHash('sha256');
  let content: Awaited<ReturnType<typeof scanContent>>;
  try {
    const source = await openUri(artifact.uri, options);
    async function* hashed(): AsyncIterable<Buffer> {
      for await (const chunk of source) {
        hash.update(chunk as Buffer);
        yield chunk as Buffer;
      }
    }
    content = await scanContent(basename(artifact.uri), hashed(), {
      maxBytes: options.maxBytes,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onBytes ? { onBytes: options.onBytes } : {}),
    });
  } catch (err) {
    return { sha256: null, findings: [unreadable(artifact, err, options)] };
  }
  const sha256 = hash.digest('hex');
  const artifactUri = artifact.uri;
  const findings: ScanFinding[] = [];
  if (sha256 !== artifact.sha256) {
    findings.push({ artifactUri, severity: 'critical', code: 'digest-mismatch', message: `sha256 is ${sha256}, the manifest declares ${artifact.sha256}` });
  }
  findings.push(...content.findings.map((f) => ({ artifactUri, ...f })));
  if (content.pickles > 0 && !content.findings.some((f) => f.code.startsWith('pickle-'))) {
    findings.push({
      artifactUri,
      severity: 'info',
      code: 'pickle-format',
      message: `${content.pickles} pickle stream(s) walked; all ${content.imports.size} imported globals are on the allow-list`,
    });
  }
  return { findings, sha256, contents: { uri: artifactUri, pickles: content.pickles, imports: [...content.imports].sort() }, licenseFiles: content.licenseFiles };
}

/**
 * Reads each artifact again and compares its sha256 with the registered one (the one scanned and approved):
 * a critical `digest-mismatch` finding per artifact whose bytes changed since. Refused and oversized reads
 * are critical findings too; an outage throws, to be retried.
 */
export async function verifyDigests(artifacts: readonly Pick<Artifact, 'uri' | 'sha256'>[], options: ReadOptions): Promise<ScanFinding[]> {
  const results = await Promise.all(
    artifacts.map(async (artifact): Promise<ScanFinding[]> => {
      const hash = createHash('sha256');
      try {
        for await (const chunk of await openUri(artifact.uri, options)) hash.update(chunk as Buffer);
      } catch (err) {
        if (isUriNotAllowed(err) || isTooLarge(err)) return [unreadable(artifact, err, options)];
        throw err;
      }
      const actual = hash.digest('hex');
      if (actual === artifact.sha256) return [];
      const message = `sha256 is ${actual}, not the registered ${artifact.sha256} that was scanned and approved: the artifact was changed after approval`;
      return [{ artifactUri: artifact.uri, severity: 'critical', code: 'digest-mismatch', message }];
    }),
  );
  return results.flat();
}

export function maxSeverity(findings: readonly ScanFinding[]): Severity {
  return findings.reduce<Severity>(
    (max, f) => (SEVERITIES.indexOf(f.severity) > SEVERITIES.indexOf(max) ? f.severity : max),
    'info',
  );
}

/** The package's license: the manifest's, checked against any LICENSE file's; one of them must be allowed. */
function licenseFindings(
  declared: string | undefined,
  files: readonly { readonly artifactUri: string; readonly path: string; readonly license: string | null }[],
  allowList: readonly string[],
): ScanFinding[] {
  const findings: ScanFinding[] = [];
  if (declared && !licenseAllowed(declared, allowList)) {
    findings.push({ artifactUri: '', severity: 'high', code: 'license-not-allowed', message: `the manifest's license ${declared} is not on the license allow-list (${allowList.join(', ')})` });
  }
  for (const f of files) {
    if (f.license === null) {
      if (!declared) findings.push({ artifactUri: f.artifactUri, member: f.path, severity: 'medium', code: 'license-unrecognised', message: `${f.path} holds a license text that is none of the known licenses` });
    } else if (!licenseAllowed(f.license, allowList)) {
      findings.push({ artifactUri: f.artifactUri, member: f.path, severity: 'high', code: 'license-not-allowed', message: `${f.path} is ${f.license}, which is not on the license allow-list (${allowList.join(', ')})` });
    }
  }
  if (!declared && files.length === 0) {
    findings.push({ artifactUri: '', severity: 'low', code: 'license-missing', message: 'no license: the manifest declares none and the package has no LICENSE file' });
  }
  return findings;
}

export async function scanArtifacts(
  artifacts: readonly Pick<Artifact, 'uri' | 'sha256'>[],
  options: ReadOptions,
  subject: ScanSubject = {},
  settings: ScanSettings = { osvDir: null, dependencyDenyList: [], licenseAllowList: [] },
): Promise<ScanReport> {
  const results = await Promise.all(artifacts.map((a) => scanArtifact(a, options)));
  const findings: ScanFinding[] = results.flatMap((r) => r.findings);
  // Manifest-level checks only when the caller passed the manifest's fields (older inputs did not).
  if (subject.dependencies) {
    const advisories = await loadAdvisories(settings.osvDir);
    findings.push(
      ...checkDependencies(subject.dependencies, settings.dependencyDenyList, advisories).map((f): ScanFinding => ({ artifactUri: '', ...f })),
    );
    const files = results.flatMap((r, i) => (r.licenseFiles ?? []).map((f) => ({ ...f, artifactUri: artifacts[i]!.uri })));
    findings.push(...licenseFindings(subject.license, files, settings.licenseAllowList));
  }
  const digests = Object.fromEntries(artifacts.flatMap((a, i) => (results[i]?.sha256 ? [[a.uri, results[i].sha256]] : [])));
  const contents = results.flatMap((r) => (r.contents ? [r.contents] : []));
  const license = subject.dependencies ? (subject.license ?? results.flatMap((r) => r.licenseFiles ?? []).find((f) => f.license)?.license ?? null) : undefined;
  return { findings, maxSeverity: maxSeverity(findings), digests, contents, ...(license !== undefined ? { license } : {}) };
}

export function scanningActivities(store: ContentStore, reading: ReadSettings, settings: ScanSettings = scanSettingsFromEnv()) {
  return {
    /**
     * The security-scan gate: integrity (declared digest vs bytes), what pickles would import (against an
     * allow-list, inside zip containers too), secrets, dependencies (pins, deny-list, offline advisories) and
     * the license. Reads only allowed locations, within the size limit, heartbeating the bytes read;
     * cancellation aborts the reads.
     */
    async scanArtifacts(input: { modelVersionId: string; artifacts: readonly Artifact[] } & ScanSubject): Promise<{ maxSeverity: Severity; report: ReportRef }> {
      const { modelVersionId, artifacts, ...subject } = input;
      const scan = await scanArtifacts(artifacts, { ...artifactReads(reading), ...activityReadControl() }, subject, settings);
      const digest = await store.put({ kind: 'scan', modelVersionId, ...scan });
      const counts = Object.fromEntries(SEVERITIES.map((s) => [s, scan.findings.filter((f) => f.severity === s).length]));
      // The most severe findings first, so the summary in history names what blocked the version.
      const worst = [...scan.findings].sort((a, b) => SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity));
      const summary = { maxSeverity: scan.maxSeverity, counts, findings: worst.slice(0, FINDINGS_IN_SUMMARY) };
      return { maxSeverity: scan.maxSeverity, report: { kind: 'scan', digest, summary } };
    },
  };
}
