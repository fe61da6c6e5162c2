import { z } from 'zod';
import { MODEL_NAME_PATTERN, SEMVER_PATTERN } from './model-id.js';
import { TEMPLATE_REF_PATTERN, TEMPLATE_REF_PROBLEM } from './names.js';

export const templateRefSchema = z.string().regex(TEMPLATE_REF_PATTERN, TEMPLATE_REF_PROBLEM);

/**
 * What a data scientist registers, from any tool: an ML model, a rules engine, a vendor black box. Artifacts
 * and datasets are referenced by URI (plus sha256 where the bytes are ours to verify) and never copied into
 * history, which keeps histories small. Every field error names its JSON path.
 */

const URI_PATTERN = /^(file|https?|s3|gs|az|hdfs|dbfs):\/\/\S+$/;
const uri = z.string().regex(URI_PATTERN, 'must be a file, http(s), s3, gs, az, hdfs or dbfs URI');
const sha256 = z.string().regex(/^[a-f0-9]{64}$/, 'must be 64 lower-case hex characters');
const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/, 'must be an identifier (letters, digits, "_", ".", "-")');
const label = z.string().trim().min(1, 'must not be empty').max(200);

export const artifactSchema = z.strictObject({
  uri,
  sha256,
  /** Optional role of the file, e.g. `model`, `tokenizer`, `rules`. */
  name: identifier.optional(),
});

export const FIELD_TYPES = ['number', 'integer', 'string', 'boolean', 'category', 'datetime'] as const;

export const fieldSchema = z
  .strictObject({
    name: identifier,
    type: z.enum(FIELD_TYPES),
    nullable: z.boolean().default(false),
    /** Allowed values of a `category` field. */
    categories: z.array(label).min(1).optional(),
    description: z.string().max(1000).optional(),
  })
  .superRefine((field, ctx) => {
    if (field.categories && field.type !== 'category') {
      ctx.addIssue({ code: 'custom', path: ['categories'], message: 'only a category field has categories' });
    }
  });

const fieldList = z
  .array(fieldSchema)
  .min(1, 'at least one field is required')
  .max(10_000)
  .superRefine((fields, ctx) => {
    const seen = new Set<string>();
    fields.forEach((f, i) => {
      if (seen.has(f.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate field "${f.name}"` });
      seen.add(f.name);
    });
  });

export const datasetRefSchema = z.strictObject({
  uri,
  sha256: sha256.optional(),
  description: z.string().max(1000).optional(),
});

/**
 * Held-out data the test gate scores the candidate on: a CSV or JSON Lines file with the model's input columns
 * and the true value in `label`. `protectedAttributes` (default: the manifest's) are the columns fairness
 * slices by; `output` names the output that carries the positive class's probability or the prediction.
 */
export const evaluationSchema = z.strictObject({
  dataset: datasetRefSchema,
  label: identifier,
  task: z.enum(['classification', 'regression']),
  output: identifier.optional(),
  protectedAttributes: z.array(identifier).max(100).optional(),
});

export const riskTierSchema = z.enum(['low', 'medium', 'high', 'critical']);
export const modelKindSchema = z.enum(['ml', 'rules', 'vendor', 'other']);

export const manifestSchema = z
  .strictObject({
    name: z.string().regex(MODEL_NAME_PATTERN, 'must be lower-case letters, digits, ".", "_" or "-" (at most 100)'),
    version: z.string().regex(SEMVER_PATTERN, 'must be a semver version such as 1.2.0'),
    owner: label,
    team: label,
    description: z.string().max(4000).default(''),
    kind: modelKindSchema,
    /** Free text: `sklearn`, `xgboost`, `onnx`, `drools`, `vendor:acme-score`, … */
    framework: label,
    artifacts: z.array(artifactSchema).min(1, 'at least one artifact is required').max(100),
    inputSchema: fieldList,
    outputSchema: fieldList,
    trainingData: z.array(datasetRefSchema).max(100).default([]),
    /** The baseline the drift monitor compares live traffic against. */
    referenceDataset: datasetRefSchema.optional(),
    /** Held-out data the test gate scores the candidate on; the metrics above are then claims checked against it. */
    evaluation: evaluationSchema.optional(),
    /** Offline evaluation metrics the test gate judges, e.g. `{ auc: 0.91 }`. */
    metrics: z.record(z.string().min(1).max(100), z.number().finite()).default({}),
    /** Runtime dependencies, e.g. `scikit-learn==1.5.2`, `python>=3.11`. */
    dependencies: z.array(z.string().trim().min(1).max(200)).max(500).default([]),
    /** The package's license, an SPDX id or expression such as `Apache-2.0`; the scan checks it against its allow-list. */
    license: z
      .string()
      .max(200)
      .regex(/^[A-Za-z0-9.+-]+(?: (?:AND|OR|WITH) [A-Za-z0-9.+-]+)*$/, 'must be an SPDX license identifier or expression such as MIT or "Apache-2.0 OR MIT"')
      .optional(),
    riskTier: riskTierSchema,
    tags: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9:_.-]{0,63}$/, 'must be a lower-case tag (letters, digits, ":", "_", ".", "-")'))
      .max(50)
      .default([]),
    /** Input fields the fairness gate must slice by; each must be a field of inputSchema. */
    protectedAttributes: z.array(identifier).max(100).default([]),
    /** Lifecycle template, `name` or `name@version`. */
    template: templateRefSchema.default('standard'),
    deploymentTarget: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be a target name').default('default'),
  })
  .superRefine((m, ctx) => {
    const inputs = new Set(m.inputSchema.map((f) => f.name));
    m.protectedAttributes.forEach((a, i) => {
      if (!inputs.has(a)) ctx.addIssue({ code: 'custom', path: ['protectedAttributes', i], message: `"${a}" is not a field of inputSchema` });
    });
    if (m.evaluation) {
      const { label: labelColumn, output } = m.evaluation;
      if (inputs.has(labelColumn)) ctx.addIssue({ code: 'custom', path: ['evaluation', 'label'], message: `"${labelColumn}" is an input field; the label must be a column of its own` });
      if (output !== undefined && !m.outputSchema.some((f) => f.name === output)) {
        ctx.addIssue({ code: 'custom', path: ['evaluation', 'output'], message: `"${output}" is not a field of outputSchema` });
      }
      if (output === undefined && !m.outputSchema.some((f) => f.type === 'number')) {
        ctx.addIssue({ code: 'custom', path: ['evaluation', 'output'], message: 'is required when outputSchema has no number field to score with' });
      }
    }
    const tags = new Set<string>();
    m.tags.forEach((t, i) => {
      if (tags.has(t)) ctx.addIssue({ code: 'custom', path: ['tags', i], message: `duplicate tag "${t}"` });
      tags.add(t);
    });
  });

export type ModelManifest = z.output<typeof manifestSchema>;
export type ManifestInput = z.input<typeof manifestSchema>;
export type Artifact = z.output<typeof artifactSchema>;
export type DatasetRef = z.output<typeof datasetRefSchema>;
export type EvaluationSpec = z.output<typeof evaluationSchema>;

/** The manifest as JSON Schema (draft 2020-12), for editors, CI checks and other languages' clients. */
export function manifestJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(manifestSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
}
