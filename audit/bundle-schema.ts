import { z } from 'zod';

/**
 * The shape of an evidence bundle, strict at every level: a field verify does not know is refused rather than
 * carried along unchecked. Format 1 (before digests) is still read; format 2 adds `digests`.
 */
export const BUNDLE_FORMAT_V1 = 'steward-evidence-bundle/1';
export const BUNDLE_FORMAT = 'steward-evidence-bundle/2';
export const BUNDLE_FORMATS = [BUNDLE_FORMAT_V1, BUNDLE_FORMAT] as const;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 in hex');

const run = z.strictObject({
  workflowId: z.string(),
  runId: z.string(),
  eventDigests: z.array(sha256Hex),
  digest: sha256Hex,
  // The events are covered by their digests; the history holds nothing else.
  history: z.strictObject({ events: z.array(z.record(z.string(), z.unknown())).min(1, 'must hold at least the start event') }),
});

const lifecycle = z.strictObject({
  workflowId: z.string(),
  modelVersionId: z.string(),
  manifest: z.unknown(),
  template: z.string(),
  templates: z.array(z.string()),
  parentWorkflowId: z.string().nullable(),
  runs: z.array(run).min(1, 'a lifecycle has at least one run'),
});

const link = z.strictObject({ workflowId: z.string(), runId: z.string(), digest: sha256Hex, link: sha256Hex });

const signature = z.strictObject({ alg: z.literal('Ed25519'), publicKey: z.string(), value: z.string() }).nullable();

const common = {
  subject: z.string(),
  exportedAt: z.iso.datetime({ offset: true }),
  exportedBy: z.string().min(1),
  lifecycles: z.array(lifecycle).min(1, 'a bundle holds at least one lifecycle'),
  chain: z.array(link),
  signature,
};

/** The top-level fields that `digests` covers: every field but the digests and the signature over them. */
export const DIGESTED_FIELDS = ['format', 'subject', 'exportedAt', 'exportedBy', 'lifecycles', 'chain'] as const;

export const bundleSchemaV1 = z.strictObject({ format: z.literal(BUNDLE_FORMAT_V1), ...common });
export const bundleSchemaV2 = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  ...common,
  digests: z.strictObject(Object.fromEntries(DIGESTED_FIELDS.map((f) => [f, sha256Hex])) as Record<(typeof DIGESTED_FIELDS)[number], typeof sha256Hex>),
});

/** `lifecycles.0.runs.1.runId`: a zod issue path as the rest of Steward names fields. */
export const fieldPath = (path: readonly PropertyKey[]) => path.map(String).join('.');
