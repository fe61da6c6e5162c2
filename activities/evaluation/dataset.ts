import type { EvaluationSpec, ModelManifest } from '../../core/manifest.js';
import { DatasetProblem, MISSING, openDataset, rowsOf } from '../datasets.js';
import type { ReadOptions } from '../read-uri.js';

/**
 * Reads the evaluation dataset: the model's input columns typed as its input schema says (what is sent to the
 * runtime), the label, and the protected attributes' groups. A cell that does not fit its field is a
 * DatasetProblem naming file, row and column: the rows a model is judged on must be ones it was promised.
 */

type Field = ModelManifest['inputSchema'][number];
export type Scalar = number | string | boolean | null;

export interface EvaluationRows {
  readonly sha256: string;
  /** Row-major inputs in inputSchema order. */
  readonly inputs: readonly Scalar[][];
  readonly labels: Float64Array;
  /** Protected attribute → each row's group (a missing value is its own group, as pandas' "nan"). */
  readonly groups: ReadonlyMap<string, readonly string[]>;
}

function isMissing(raw: unknown): boolean {
  return raw === null || raw === undefined || (typeof raw === 'string' && MISSING.has(raw.trim()));
}

/** One input cell as its field's type. */
export function inputCell(field: Field, raw: unknown, where: string): Scalar {
  if (isMissing(raw)) {
    if (!field.nullable) throw new DatasetProblem(`${where}, column ${field.name}: a value is required (the field is not nullable)`);
    return null;
  }
  const text = typeof raw === 'string' ? raw.trim() : raw;
  switch (field.type) {
    case 'number':
    case 'integer': {
      const value = typeof text === 'number' ? text : typeof text === 'string' ? Number(text) : Number.NaN;
      if (!Number.isFinite(value) || (field.type === 'integer' && !Number.isInteger(value))) {
        throw new DatasetProblem(`${where}, column ${field.name}: ${JSON.stringify(raw)} is not ${field.type === 'integer' ? 'an integer' : 'a number'}`);
      }
      return value;
    }
    case 'boolean':
      if (text === true || text === 'true' || text === '1' || text === 1) return true;
      if (text === false || text === 'false' || text === '0' || text === 0) return false;
      throw new DatasetProblem(`${where}, column ${field.name}: ${JSON.stringify(raw)} is not a boolean`);
    case 'category': {
      const label = String(text);
      if (field.categories && !field.categories.includes(label)) {
        throw new DatasetProblem(`${where}, column ${field.name}: ${JSON.stringify(label)} is not one of its categories (${field.categories.join(', ')})`);
      }
      return label;
    }
    default:
      return typeof text === 'string' ? text : JSON.stringify(text);
  }
}

function labelOf(raw: unknown, task: EvaluationSpec['task'], where: string, column: string): number {
  if (isMissing(raw)) throw new DatasetProblem(`${where}, column ${column}: the label is missing`);
  const text = typeof raw === 'string' ? raw.trim() : raw;
  const value = text === true ? 1 : text === false ? 0 : typeof text === 'number' ? text : Number(text);
  if (task === 'classification' && value !== 0 && value !== 1) {
    throw new DatasetProblem(`${where}, column ${column}: ${JSON.stringify(raw)} is not a binary label (0 or 1)`);
  }
  if (!Number.isFinite(value)) throw new DatasetProblem(`${where}, column ${column}: ${JSON.stringify(raw)} is not a number`);
  return value;
}

export async function loadEvaluationRows(spec: EvaluationSpec, inputSchema: readonly Field[], attributes: readonly string[], options: ReadOptions): Promise<EvaluationRows> {
  const uri = spec.dataset.uri;
  const dataset = await openDataset(uri, spec.dataset.sha256, options);
  const inputs: Scalar[][] = [];
  const labels: number[] = [];
  const groups = new Map(attributes.map((a) => [a, [] as string[]]));
  try {
    for await (const row of rowsOf(dataset.format, uri, dataset.bytes)) {
      if (inputs.length === 0) {
        const needed = [...inputSchema.map((f) => f.name), spec.label, ...attributes];
        const absent = [...new Set(needed)].filter((c) => !(c in row));
        if (absent.length) throw new DatasetProblem(`${uri}: no column ${absent.join(', ')} (the model's inputs, the label and the protected attributes)`);
      }
      const where = `${uri}: row ${inputs.length + 1}`;
      inputs.push(inputSchema.map((f) => inputCell(f, row[f.name], where)));
      labels.push(labelOf(row[spec.label], spec.task, where, spec.label));
      for (const [attribute, values] of groups) {
        const raw = row[attribute];
        values.push(isMissing(raw) ? 'nan' : String(typeof raw === 'string' ? raw.trim() : raw));
      }
    }
  } finally {
    dataset.close();
  }
  const sha256 = dataset.verified(inputs.length);
  return { sha256, inputs, labels: Float64Array.from(labels), groups };
}
