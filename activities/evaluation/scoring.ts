import type { ModelManifest } from '../../core/manifest.js';
import type { Tensor } from '../../runtimes/protocol.js';
import type { ModelRuntime } from '../../runtimes/runtime.js';
import { outputsByRow, toRequest } from '../batch-scoring.js';
import type { Scalar } from './dataset.js';

/**
 * Scores evaluation rows through a runtime's V2 `infer`, in batches, and checks each answer against the
 * manifest's output schema: the contract holds on every row scored, not on a sample.
 */

type Field = ModelManifest['outputSchema'][number];

export class OutputContractError extends Error {
  override readonly name = 'OutputContractError';
}

/** Why a row's outputs break the output schema, or null when they conform. */
export function outputProblem(outputSchema: readonly Field[], outputs: Readonly<Record<string, unknown>>): string | null {
  for (const field of outputSchema) {
    if (!(field.name in outputs)) return `output ${field.name} is missing (outputs: ${Object.keys(outputs).join(', ') || 'none'})`;
    const value = outputs[field.name];
    if (value === null || value === undefined) {
      if (field.nullable) continue;
      return `output ${field.name} is null but the field is not nullable`;
    }
    const ok = (() => {
      switch (field.type) {
        case 'number':
          return (typeof value === 'number' && Number.isFinite(value)) || (Array.isArray(value) && value.every((v) => typeof v === 'number' && Number.isFinite(v)));
        case 'integer':
          return typeof value === 'number' && Number.isInteger(value);
        case 'boolean':
          return typeof value === 'boolean' || value === 0 || value === 1;
        case 'category':
          return (typeof value === 'string' || typeof value === 'number') && (!field.categories || field.categories.includes(String(value)));
        default:
          return typeof value === 'string';
      }
    })();
    if (!ok) return `output ${field.name} is ${JSON.stringify(value)}, not a valid ${field.type}`;
  }
  return null;
}

/** The score a row's output carries: a number, or the positive class's entry of a [negative, positive] pair. */
export function scoreOf(value: unknown, output: string, row: number): number {
  const v = Array.isArray(value) ? (value.length === 2 ? value[1] : value.length === 1 ? value[0] : undefined) : value;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new OutputContractError(`row ${row}: output ${output} is ${JSON.stringify(value)}, not a score`);
  return v;
}

export interface ScoreOptions {
  readonly model: string;
  readonly inputSchema: ModelManifest['inputSchema'];
  readonly outputSchema: ModelManifest['outputSchema'];
  readonly output: string;
  readonly batchRows: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (rowsScored: number) => void;
}

export async function scoreRows(runtime: ModelRuntime, rows: readonly Scalar[][], options: ScoreOptions): Promise<Float64Array> {
  const scores = new Float64Array(rows.length);
  for (let start = 0; start < rows.length; start += options.batchRows) {
    const chunk = rows.slice(start, start + options.batchRows);
    const what = `${options.model}, rows ${start + 1}-${start + chunk.length}`;
    const answer = await runtime.infer(options.model, toRequest(options.inputSchema, chunk, `evaluation:${start + 1}`), options.signal ? { signal: options.signal } : {});
    const perRow = outputsByRow(answer.outputs as Tensor[], chunk.length, what);
    perRow.forEach((outputs, i) => {
      const problem = outputProblem(options.outputSchema, outputs);
      if (problem) throw new OutputContractError(`row ${start + i + 1}: ${problem}`);
      scores[start + i] = scoreOf(outputs[options.output], options.output, start + i + 1);
    });
    options.onProgress?.(start + chunk.length);
  }
  return scores;
}
