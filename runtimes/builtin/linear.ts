import { z } from 'zod';
import type { InferenceRequest, Tensor, TensorMetadata } from '../protocol.js';
import { badRequest } from './errors.js';
import { selectOutputs, type LoadedModel } from './model.js';
import { numericColumn, outputTensor, toColumns, type Value } from './tensors.js';

/**
 * A linear model declared in JSON: score = intercept + Σ coefficient × feature.
 *   {"kind":"linear","features":["income","debt_to_income"],"coefficients":[0.00001,-4.2],"intercept":1.5,
 *    "link":"logistic","threshold":0.5,"labels":["decline","approve"]}
 * Outputs: `score` (identity link) or `probability` (logistic link, the sigmoid of the score), and for a
 * logistic model with `threshold` or `labels` a `label`: labels[1] (or 1) when probability ≥ threshold
 * (default 0.5), else labels[0] (or 0).
 */
export const linearDocumentSchema = z
  .strictObject({
    kind: z.literal('linear'),
    features: z.array(z.string().min(1)).min(1, 'at least one feature is required'),
    coefficients: z.array(z.number().finite()),
    intercept: z.number().finite().default(0),
    link: z.enum(['identity', 'logistic']).default('identity'),
    threshold: z.number().gt(0).lt(1).optional(),
    labels: z.tuple([z.union([z.string(), z.number().int()]), z.union([z.string(), z.number().int()])]).optional(),
  })
  .superRefine((doc, ctx) => {
    if (doc.coefficients.length !== doc.features.length) {
      ctx.addIssue({ code: 'custom', path: ['coefficients'], message: `has ${doc.coefficients.length} values for ${doc.features.length} features` });
    }
    if (new Set(doc.features).size !== doc.features.length) ctx.addIssue({ code: 'custom', path: ['features'], message: 'has a duplicate feature' });
    if (doc.link === 'identity' && (doc.threshold !== undefined || doc.labels)) {
      ctx.addIssue({ code: 'custom', path: ['link'], message: 'threshold and labels need the logistic link' });
    }
  });
export type LinearDocument = z.output<typeof linearDocumentSchema>;

export interface LinearScores {
  readonly values: Float64Array;
  readonly labels?: Value[];
}

/** Scores the rows given as one numeric column per feature, in the document's feature order. */
export function scoreLinear(doc: LinearDocument, columns: readonly Float64Array[], rows: number): LinearScores {
  const values = new Float64Array(rows).fill(doc.intercept);
  doc.coefficients.forEach((c, j) => {
    const column = columns[j] as Float64Array;
    for (let i = 0; i < rows; i += 1) values[i] = (values[i] as number) + c * (column[i] as number);
  });
  if (doc.link === 'identity') return { values };
  for (let i = 0; i < rows; i += 1) values[i] = 1 / (1 + Math.exp(-(values[i] as number)));
  if (doc.threshold === undefined && !doc.labels) return { values };
  const threshold = doc.threshold ?? 0.5;
  const [negative, positive] = doc.labels ?? [0, 1];
  return { values, labels: Array.from(values, (p) => (p >= threshold ? positive : negative)) };
}

export class LinearModel implements LoadedModel {
  readonly platform = 'steward_linear';
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
  private readonly scoreName: string;

  constructor(private readonly doc: LinearDocument) {
    this.inputs = doc.features.map((name) => ({ name, datatype: 'FP64', shape: [-1] }));
    this.scoreName = doc.link === 'logistic' ? 'probability' : 'score';
    const labelType = typeof doc.labels?.[1] === 'string' ? 'BYTES' : 'INT64';
    this.outputs = [
      { name: this.scoreName, datatype: 'FP64', shape: [-1] },
      ...(doc.link === 'logistic' && (doc.threshold !== undefined || doc.labels) ? [{ name: 'label', datatype: labelType, shape: [-1] }] : []),
    ];
  }

  infer(request: InferenceRequest): Tensor[] {
    const { rows, columns } = toColumns(request.inputs, this.doc.features, true);
    const numeric = this.doc.features.map((f) => numericColumn(f, columns.get(f) as readonly Value[]));
    const scores = scoreLinear(this.doc, numeric, rows);
    const outputs = [outputTensor(this.scoreName, Array.from(scores.values))];
    if (scores.labels) outputs.push({ ...outputTensor('label', scores.labels), datatype: this.outputs[1]?.datatype as 'BYTES' | 'INT64' });
    const names = this.outputs.map((o) => o.name).join(', ');
    return selectOutputs(request, outputs, (name) => badRequest(`output ${name} is not an output of this model (outputs: ${names})`));
  }

  async release(): Promise<void> {}
}
