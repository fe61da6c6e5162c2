import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';
import { canonicalJson } from '../core/canonical-json.js';
import type { HistoryArchive } from '../evidence/history-archive.js';
import { lifecycleWorkflowId, modelVersionId, type ModelVersionRef } from '../core/model-id.js';
import type { LifecycleInput } from '../workflows/lifecycle.js';
import { lifecycleRunHistories, startInputOf } from './run-histories.js';

/**
 * Evidence bundles: every run of a lifecycle and of its retrained descendants, with digests that make any
 * alteration detectable and name where it is. Each event is hashed in canonical JSON; a history's digest
 * hashes its event digests in order; a chain links every history to the one before; an optional Ed25519
 * signature covers the chain's head.
 */
export const BUNDLE_FORMAT = 'steward-evidence-bundle/1';

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

export interface BundledLifecycle {
  readonly workflowId: string;
  readonly modelVersionId: string;
  readonly manifest: unknown;
  /** The exact template version the lifecycle started on (`high-risk@1`), or `inline` for a bare policy. */
  readonly template: string;
  /** Every template version it ran, in order: more than one after a migration at continue-as-new. */
  readonly templates: readonly string[];
  readonly parentWorkflowId: string | null;
  readonly runs: readonly BundledRun[];
}

export interface ChainLink {
  readonly workflowId: string;
  readonly runId: string;
  readonly digest: string;
  /** sha256(previous link + digest); the first link's previous is 64 zeros. */
  readonly link: string;
}

export interface EvidenceBundle {
  readonly format: typeof BUNDLE_FORMAT;
  readonly subject: string;
  readonly exportedAt: string;
  readonly exportedBy: string;
  readonly lifecycles: readonly BundledLifecycle[];
  readonly chain: readonly ChainLink[];
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

function chainOf(lifecycles: readonly BundledLifecycle[]): ChainLink[] {
  let previous = GENESIS;
  return lifecycles.flatMap((l) =>
    l.runs.map((r) => {
      previous = sha256(previous + r.digest);
      return { workflowId: r.workflowId, runId: r.runId, digest: r.digest, link: previous };
    }),
  );
}

/** What the signature covers: the subject, export metadata and the chain's head. */
function signedText(bundle: Omit<EvidenceBundle, 'signature'>): string {
  return canonicalJson({ format: bundle.format, subject: bundle.subject, exportedAt: bundle.exportedAt, exportedBy: bundle.exportedBy, head: bundle.chain.at(-1)?.link ?? GENESIS });
}

function bundleRun(workflowId: string, runId: string, proto: temporal.api.history.v1.IHistory): BundledRun {
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

function childrenStarted(run: BundledRun): string[] {
  return run.history.events.flatMap((e) => {
    const attrs = (e as { childWorkflowExecutionStartedEventAttributes?: { workflowExecution?: { workflowId?: string } } }).childWorkflowExecutionStartedEventAttributes;
    return attrs?.workflowExecution?.workflowId ? [attrs.workflowExecution.workflowId] : [];
  });
}

/**
 * Exports the lifecycle of `ref` and every retrained descendant (depth first), signed when a key is given.
 * Reads only Temporal histories: the bundle is evidence of what the workflows recorded, not of the catalog.
 */
export async function exportBundle(
  client: Client,
  ref: ModelVersionRef,
  options: { exportedBy: string; signingKey?: KeyObject; now?: Date; archive?: HistoryArchive },
): Promise<EvidenceBundle> {
  const lifecycles: BundledLifecycle[] = [];
  const pending = [lifecycleWorkflowId(ref)];
  while (pending.length) {
    const workflowId = pending.shift()!;
    const { runs, input, templates } = await runsOf(client, options.archive, workflowId);
    lifecycles.push({
      workflowId,
      modelVersionId: modelVersionId(input.manifest),
      manifest: input.manifest,
      template: templates[0]!,
      templates,
      parentWorkflowId: input.lineage?.parentWorkflowId ?? null,
      runs,
    });
    pending.push(...runs.flatMap(childrenStarted));
  }
  const unsigned = {
    format: BUNDLE_FORMAT,
    subject: modelVersionId(ref),
    exportedAt: (options.now ?? new Date()).toISOString(),
    exportedBy: options.exportedBy,
    lifecycles,
    chain: chainOf(lifecycles),
  } as const;
  const key = options.signingKey;
  return {
    ...unsigned,
    signature: key
      ? {
          alg: 'Ed25519',
          publicKey: createPublicKey(key).export({ format: 'der', type: 'spki' }).toString('base64'),
          value: sign(null, Buffer.from(signedText(unsigned)), key).toString('base64'),
        }
      : null,
  };
}

export type VerifyResult = { readonly ok: true } | { readonly ok: false; readonly problem: string };

/**
 * Checks every event digest, every history digest, the chain, and the signature (against `trustedKey` when
 * given, so a bundle re-signed with another key fails). Names the first altered element.
 */
export function verifyBundle(bundle: EvidenceBundle, trustedKey?: KeyObject): VerifyResult {
  if (bundle.format !== BUNDLE_FORMAT) return { ok: false, problem: `unknown bundle format ${String(bundle.format)}` };
  for (const lifecycle of bundle.lifecycles) {
    for (const run of lifecycle.runs) {
      const where = `history ${run.workflowId} run ${run.runId}`;
      if (run.history.events.length !== run.eventDigests.length) return { ok: false, problem: `${where}: events were added or removed` };
      for (const [i, event] of run.history.events.entries()) {
        if (eventDigest(event) !== run.eventDigests[i]) {
          return { ok: false, problem: `${where}: event ${String((event as { eventId?: unknown }).eventId ?? i + 1)} has been altered` };
        }
      }
      if (historyDigest(run.eventDigests) !== run.digest) return { ok: false, problem: `${where}: its event digests have been altered` };
    }
  }
  const expected = chainOf(bundle.lifecycles);
  if (expected.length !== bundle.chain.length) return { ok: false, problem: 'chain: histories were added or removed' };
  for (const [i, link] of expected.entries()) {
    const recorded = bundle.chain[i]!;
    if (recorded.digest !== link.digest || recorded.link !== link.link || recorded.runId !== link.runId) {
      return { ok: false, problem: `chain: link ${i + 1} (${link.workflowId} run ${link.runId}) does not match` };
    }
  }
  if (bundle.signature) {
    const key = trustedKey ?? createPublicKey({ key: Buffer.from(bundle.signature.publicKey, 'base64'), format: 'der', type: 'spki' });
    const { signature, ...unsigned } = bundle;
    if (!verify(null, Buffer.from(signedText(unsigned)), key, Buffer.from(signature.value, 'base64'))) {
      return { ok: false, problem: 'signature: does not match the bundle or was not made with the trusted key' };
    }
  } else if (trustedKey) {
    return { ok: false, problem: 'signature: the bundle is not signed' };
  }
  return { ok: true };
}

/** Ed25519 keys from PEM text (PKCS#8 private, SPKI public). */
export const loadPrivateKey = (pem: string) => createPrivateKey(pem);
export const loadPublicKey = (pem: string) => createPublicKey(pem);
