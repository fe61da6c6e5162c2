import { z } from 'zod';
import { MODEL_NAME_PATTERN, SEMVER_PATTERN } from './model-id.js';

/**
 * What a data scientist registers. Artifacts are referenced by URI plus sha256 and never copied into
 * history (histories stay small). The catalog issue widens this schema; fields here are the ones the
 * lifecycle already uses.
 */
export const artifactSchema = z.strictObject({
  uri: z.string().regex(/^(file|https?|s3|gs):\/\//, 'must be a file://, http(s)://, s3:// or gs:// URI'),
  sha256: z.string().regex(/^[a-f0-9]{64}$/, 'must be 64 lower-case hex characters'),
});

export const riskTierSchema = z.enum(['low', 'medium', 'high', 'critical']);

export const manifestSchema = z.strictObject({
  name: z.string().regex(MODEL_NAME_PATTERN, 'must be lower-case letters, digits, ".", "_" or "-"'),
  version: z.string().regex(SEMVER_PATTERN, 'must be a semver version such as 1.2.0'),
  owner: z.string().min(1).max(200),
  description: z.string().max(2000).optional(),
  kind: z.enum(['ml', 'rules', 'vendor', 'other']).default('ml'),
  riskTier: riskTierSchema.default('medium'),
  artifacts: z.array(artifactSchema).min(1, 'at least one artifact is required'),
  /** Offline evaluation metrics the test gate judges, e.g. `{ auc: 0.91 }`. */
  metrics: z.record(z.string().min(1), z.number().finite()).default({}),
});

export type ModelManifest = z.output<typeof manifestSchema>;
export type ManifestInput = z.input<typeof manifestSchema>;
export type Artifact = z.output<typeof artifactSchema>;
