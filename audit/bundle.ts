import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { canonicalJson } from '../core/canonical-json.js';
import type { HistoryArchive } from '../evidence/history-archive.js';
import { lifecycleWorkflowId, modelVersionId, type ModelVersionRef } from '../core/model-id.js';
import type { LifecycleInput } from '../workflows/lifecycle.js';
import { lifecycleFacts, runFacts, type LifecycleFacts, type RunFacts } from './bundle-facts.js';
import { BUNDLE_FORMAT, BUNDLE_FORMATS, DIGESTED_FIELDS, bundleSchemaV1, bundleSchemaV2, fieldPath } from './bundle-schema.js';
import { lifecycleRunHistories, startInputOf, type History, type RunHistory } from './run-histories.js';

export { BUNDLE_FORMAT, BUNDLE_FORMAT_V1, BUNDLE_FORMATS } from './bundle-schema.js';

/**
 * Evidence bundles: every run of a lifecycle and of its retrained descendants, with digests that make any
 * alteration detectable and name where it is. Each event is hashed in canonical JSON; a history's digest
 * hashes its event digests in order; a chain links every history to the one before. What a lifecycle is
 * (workflow, version, manifest, template, parent) is derived from its histories and checked against them;
 * `digests` holds a SHA-256 of every other top-level field, and the optional Ed25519 signature covers `digests`.
 */
type HistoryJson = { events: Record<string, unknown>[] };

export interface BundledRun {
  readonly workflowId: string;
  readonly runId: string;
  /** sha256 of each event in canonical JSON, in order. */
  readonly eventDigests: readonly string[];
  /** sha256 of the concatenated event digests. */
  readonly digest: string;
  /** The history exactly as `temporal workflow show --output json` prints it. */
  readonly history: HistoryJson;
}

/** A lifecycle's runs, and for convenience what they say about it (verify checks each against the histories). */
export interface BundledLifecycle extends LifecycleFacts {
  readonly runs: readonly BundledRun[];
}

export interface ChainLink {
  readonly workflowId: string;
  readonly runId: string;
  readonly digest: string;
  /** sha256(previous link + digest); the first link's previous is 64 zeros. */
  readonly link: string;
}

export type DigestedField = (typeof DIGESTED_FIELDS)[number];

export interface EvidenceBundle {
  readonly format: typeof BUNDLE_FORMAT;
  readonly subject: string;
  readonly exportedAt: string;
  readonly exportedBy: string;
  readonly lifecycles: readonly BundledLifecycle[];
  readonly chain: readonly ChainLink[];
  /** sha256 of each other top-level field in canonical JSON (run histories stand in by their event digests). */
  readonly digests: Readonly<Record<DigestedField, string>>;
  /** Ed25519 over `digests` in canonical JSON. */
  readonly signature: { readonly alg: 'Ed25519'; readonly publicKey: string; readonly value: string } | null;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const GENESIS = '0'.repeat(64);

export function eventDigest(event: unknown): string {
  return sha256(canonicalJson(event));
}

export function historyDigest(eventDigests: readonly string[]): string {
  return sha256(eventDigests.join(''));
}

function chainOf(lifecycles: readonly { readonly runs: readonly BundledRun[] }[]): ChainLink[] {
  let previous = GENESIS;
  return lifecycles.flatMap((l) =>
    l.runs.map((r) => {
      previous = sha256(previous + r.digest);
      return { workflowId: r.workflowId, runId: r.runId, digest: r.digest, link: previous };
    }),
  );
}

/** The digest of one top-level field. Histories are left out: their event digests, hashed here, cover them. */
function fieldDigest(field: DigestedField, value: unknown): string {
  if (field !== 'lifecycles') return sha256(canonicalJson(value));
  const lifecycles = value as readonly BundledLifecycle[];
  return sha256(canonicalJson(lifecycles.map((l) => ({ ...l, runs: l.runs.map((r) => ({ ...r, history: undefined })) }))));
}

type Unsigned = Omit<EvidenceBundle, 'digests' | 'signature'>;

const digestsOf = (bundle: Unsigned): Record<DigestedField, string> =>
  Object.fromEntries(DIGESTED_FIELDS.map((f) => [f, fieldDigest(f, bundle[f])])) as Record<DigestedField, string>;

/** Format 1 signed only the export metadata and the chain's head. */
const signedTextV1 = (b: { format: string; subject: string; exportedAt: string; exportedBy: string; chain: readonly ChainLink[] }) =>
  canonicalJson({ format: b.format, subject: b.subject, exportedAt: b.exportedAt, exportedBy: b.exportedBy, head: b.chain.at(-1)?.link ?? GENESIS });

const publicKeyText = (key: KeyObject) => (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'der', type: 'spki' }).toString('base64');

/** Computes the digests and, with a key, the signature: the last step of an export (and of a forger's re-signing). */
export function sealBundle(unsigned: Unsigned, signingKey?: KeyObject): EvidenceBundle {
  const digests = digestsOf(unsigned);
  const signature = signingKey
    ? { alg: 'Ed25519' as const, publicKey: publicKeyText(signingKey), value: sign(null, Buffer.from(canonicalJson(digests)), signingKey).toString('base64') }
    : null;
  return { ...unsigned, digests, signature };
}

function bundleRun(workflowId: string, runId: string, proto: History): BundledRun {
  const history = JSON.parse(historyToJSON(proto)) as HistoryJson;
  const eventDigests = history.events.map(eventDigest);
  return { workflowId, runId, eventDigests, digest: historyDigest(eventDigests), history };
}

/** Every run of one lifecycle (live or archived), ready for a bundle, and the input it started with. */
export async function runsOf(
  client: Client,
  archive: HistoryArchive | undefined,
  workflowId: string,
): Promise<{ runs: BundledRun[]; input: LifecycleInput; templates: string[] }> {
  const histories = await lifecycleRunHistories(client, workflowId, archive);
  const templates = [...new Set(histories.map((r) => startInputOf(r.history).template ?? 'inline'))];
  return { runs: histories.map((r) => bundleRun(workflowId, r.runId, r.history)), input: startInputOf(histories[0]!.history), templates };
}

/** A lifecycle for a bundle: its runs, and what they say about it. */
export function bundleLifecycle(workflowId: string, histories: readonly RunHistory[]): BundledLifecycle {
  const runs = histories.map((r) => bundleRun(workflowId, r.runId, r.history));
  return { ...lifecycleFacts(runs.map((r) => runFacts(r.history))), runs };
}

function childrenStarted(run: BundledRun): string[] {
  return run.history.events.flatMap((e) => {
    const attrs = (e as { childWorkflowExecutionStartedEventAttributes?: { workflowExecution?: { workflowId?: string } } }).childWorkflowExecutionStartedEventAttributes;
    return attrs?.workflowExecution?.workflowId ? [attrs.workflowExecution.workflowId] : [];
  });
}

export interface BundleOptions {
  readonly exportedBy: string;
  readonly signingKey?: KeyObject;
  readonly now?: Date;
}

/** A bundle of lifecycles already read (the first is the subject), digested and signed when a key is given. */
export function assembleBundle(lifecycles: readonly BundledLifecycle[], options: BundleOptions): EvidenceBundle {
  const unsigned: Unsigned = {
    format: BUNDLE_FORMAT,
    subject: lifecycles[0]!.modelVersionId,
    exportedAt: (options.now ?? new Date()).toISOString(),
    exportedBy: options.exportedBy,
    lifecycles,
    chain: chainOf(lifecycles),
  };
  return sealBundle(unsigned, options.signingKey);
}

/**
 * Exports the lifecycle of `ref` and every retrained descendant (depth first), signed when a key is given.
 * Reads only Temporal histories: the bundle is evidence of what the workflows recorded, not of the catalog.
 */
export async function exportBundle(client: Client, ref: ModelVersionRef, options: BundleOptions & { archive?: HistoryArchive }): Promise<EvidenceBundle> {
  const lifecycles: BundledLifecycle[] = [];
  const pending = [lifecycleWorkflowId(ref)];
  while (pending.length) {
    const workflowId = pending.shift()!;
    const lifecycle = bundleLifecycle(workflowId, await lifecycleRunHistories(client, workflowId, options.archive));
    lifecycles.push(lifecycle);
    pending.push(...lifecycle.runs.flatMap(childrenStarted));
  }
  if (lifecycles[0]!.modelVersionId !== modelVersionId(ref)) throw new Error(`lifecycle ${lifecycleWorkflowId(ref)} holds ${lifecycles[0]!.modelVersionId}`);
  return assembleBundle(lifecycles, options);
}

export type VerifyResult =
  | { readonly ok: true; readonly format: 1 | 2; readonly histories: number; readonly signedBy: string | null }
  | { readonly ok: false; readonly problem: string };

const fail = (problem: string): VerifyResult => ({ ok: false, problem });
const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

/** The first mismatch between the bundle's runs and their digests, naming the field. */
function checkRuns(lifecycles: readonly BundledLifecycle[]): string | null {
  for (const [i, lifecycle] of lifecycles.entries()) {
    for (const [j, run] of lifecycle.runs.entries()) {
      const at = `lifecycles.${i}.runs.${j}`;
      const which = `(${run.workflowId} run ${run.runId})`;
      if (historyDigest(run.eventDigests) !== run.digest) return `${at}.digest: does not match ${at}.eventDigests ${which}`;
      if (run.history.events.length !== run.eventDigests.length) return `${at}.history: events were added or removed ${which}`;
      for (const [k, event] of run.history.events.entries()) {
        if (eventDigest(event) !== run.eventDigests[k]) {
          return `${at}.history: event ${String((event as { eventId?: unknown }).eventId ?? k + 1)} has been altered ${which}`;
        }
      }
    }
  }
  return null;
}

type ContinuedAsNew = { workflowExecutionContinuedAsNewEventAttributes?: { newExecutionRunId?: string } } | undefined;

/** The first claim of the bundle that its histories contradict, naming the field. */
function checkClaims(subject: string, lifecycles: readonly BundledLifecycle[]): string | null {
  const seen: string[] = [];
  for (const [i, lifecycle] of lifecycles.entries()) {
    let facts: RunFacts[];
    try {
      facts = lifecycle.runs.map((r, j) => {
        try {
          return runFacts(r.history);
        } catch (err) {
          throw new Error(`lifecycles.${i}.runs.${j}.history: ${err instanceof Error ? err.message : String(err)}`);
        }
      });
    } catch (err) {
      return (err as Error).message;
    }
    for (const [j, run] of lifecycle.runs.entries()) {
      const at = `lifecycles.${i}.runs.${j}`;
      if (run.workflowId !== facts[j]!.workflowId) return `${at}.workflowId: "${run.workflowId}" is not the workflow its history started (${facts[j]!.workflowId})`;
      if (run.runId !== facts[j]!.runId) return `${at}.runId: "${run.runId}" is not the run its history started (${facts[j]!.runId})`;
      const expected = j === 0 ? null : lifecycle.runs[j - 1]!.runId;
      if (facts[j]!.continuedFrom !== expected) {
        return `${at}: continues ${facts[j]!.continuedFrom ?? 'no run'} according to its history, not ${expected ?? 'no run (the first run of a lifecycle)'}`;
      }
    }
    const next = (lifecycle.runs.at(-1)!.history.events.at(-1) as ContinuedAsNew)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    if (next) return `lifecycles.${i}.runs: the last run continued as new into run ${next}, which the bundle does not hold`;
    const derived = lifecycleFacts(facts);
    if (facts.some((f) => f.workflowId !== derived.workflowId)) return `lifecycles.${i}.runs: a run belongs to another workflow than ${derived.workflowId}`;
    for (const field of ['workflowId', 'modelVersionId', 'manifest', 'template', 'templates', 'parentWorkflowId'] as const) {
      if (!same(lifecycle[field], derived[field])) {
        return `lifecycles.${i}.${field}: differs from what the histories of ${derived.workflowId} record (${JSON.stringify(derived[field]).slice(0, 120)})`;
      }
    }
    if (i > 0 && !seen.includes(derived.parentWorkflowId ?? '')) return `lifecycles.${i}: ${derived.workflowId} was not retrained from a lifecycle earlier in the bundle`;
    seen.push(derived.workflowId);
  }
  if (subject !== lifecycles[0]!.modelVersionId) return `subject: "${subject}" is not the version of the bundle's first lifecycle (${lifecycles[0]!.modelVersionId})`;
  return null;
}

function checkChain(lifecycles: readonly BundledLifecycle[], chain: readonly ChainLink[]): string | null {
  const expected = chainOf(lifecycles);
  if (expected.length !== chain.length) return `chain: has ${chain.length} links for ${expected.length} histories`;
  for (const [i, link] of expected.entries()) {
    if (!same(chain[i], link)) return `chain.${i}: does not match ${link.workflowId} run ${link.runId}`;
  }
  return null;
}

/** The key's fingerprint, so someone without `--public-key` can still compare who signed. */
export const keyFingerprint = (spkiBase64: string) => `sha256:${sha256(spkiBase64).slice(0, 16)}`;

function checkSignature(
  signature: EvidenceBundle['signature'],
  signedText: string,
  trustedKey: KeyObject | undefined,
): { problem: string } | { signedBy: string | null } {
  if (!signature) return trustedKey ? { problem: 'signature: the bundle is not signed' } : { signedBy: null };
  // Node decodes base64 leniently; only the one canonical spelling of the bytes is accepted.
  for (const field of ['publicKey', 'value'] as const) {
    if (Buffer.from(signature[field], 'base64').toString('base64') !== signature[field]) return { problem: `signature.${field}: is not canonical base64` };
  }
  let embedded: KeyObject | null = null;
  try {
    embedded = createPublicKey({ key: Buffer.from(signature.publicKey, 'base64'), format: 'der', type: 'spki' });
  } catch {
    // Reported below.
  }
  if (embedded?.asymmetricKeyType !== 'ed25519' || publicKeyText(embedded) !== signature.publicKey) {
    return { problem: 'signature.publicKey: is not an Ed25519 public key in DER (SPKI), base64' };
  }
  const key = trustedKey ?? embedded;
  if (!verify(null, Buffer.from(signedText), key, Buffer.from(signature.value, 'base64'))) {
    return { problem: 'signature: does not match the bundle or was not made with the trusted key' };
  }
  return { signedBy: keyFingerprint(publicKeyText(key)) };
}

/**
 * Checks a bundle read from anywhere: its shape; every event digest, history digest and the chain; that every
 * claim about a lifecycle is what its histories record; the digest of every top-level field (format 2); and the
 * signature (against `trustedKey` when given, so a bundle re-signed with another key fails). Names the first
 * altered field. Format 1 bundles (no `digests`) are checked the same way, their signature over the export
 * metadata and the chain's head.
 */
export function verifyBundle(document: unknown, trustedKey?: KeyObject): VerifyResult {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return fail('the bundle is not a JSON object');
  const format = (document as { format?: unknown }).format;
  if (!BUNDLE_FORMATS.includes(format as (typeof BUNDLE_FORMATS)[number])) {
    return fail(`format: ${JSON.stringify(format) ?? 'missing'} is not a bundle format this version of Steward reads (${BUNDLE_FORMATS.join(', ')})`);
  }
  const parsed = (format === BUNDLE_FORMAT ? bundleSchemaV2 : bundleSchemaV1).safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const keys = 'keys' in issue ? (issue.keys as string[]) : [];
    return fail(`${fieldPath([...issue.path, ...keys.slice(0, 1)]) || 'bundle'}: ${issue.message}`);
  }
  const bundle = parsed.data as unknown as Omit<EvidenceBundle, 'format' | 'digests'> & { format: string; digests?: EvidenceBundle['digests'] };
  const problem = checkRuns(bundle.lifecycles) ?? checkClaims(bundle.subject, bundle.lifecycles);
  if (problem) return fail(problem);
  if (bundle.digests) {
    for (const field of DIGESTED_FIELDS) {
      if (fieldDigest(field, bundle[field]) !== bundle.digests[field]) return fail(`${field}: has been altered (its digest differs from digests.${field})`);
    }
  }
  const chainProblem = checkChain(bundle.lifecycles, bundle.chain);
  if (chainProblem) return fail(chainProblem);
  const signed = checkSignature(bundle.signature, bundle.digests ? canonicalJson(bundle.digests) : signedTextV1(bundle), trustedKey);
  if ('problem' in signed) return fail(signed.problem);
  return { ok: true, format: bundle.digests ? 2 : 1, histories: bundle.chain.length, signedBy: signed.signedBy };
}

/** Ed25519 keys from PEM text (PKCS#8 private, SPKI public). */
export const loadPrivateKey = (pem: string) => createPrivateKey(pem);
export const loadPublicKey = (pem: string) => createPublicKey(pem);
