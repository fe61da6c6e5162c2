import type { ContractProbe } from '../../core/evaluation.js';
import type { ModelManifest } from '../../core/manifest.js';
import type { InferenceRequest } from '../../runtimes/protocol.js';
import { isRuntimeError } from '../../runtimes/oip.js';
import type { ModelRuntime } from '../../runtimes/runtime.js';
import { outputsByRow, toRequest } from '../batch-scoring.js';
import type { Scalar } from './dataset.js';
import { outputProblem } from './scoring.js';

/**
 * Edge-case probes: requests a model meets in production sooner or later. Each must get a valid output (one
 * that conforms to the output schema) or a clean refusal (a 4xx naming the problem) within the timeout; a
 * 5xx, a dropped connection, a hang, or a runtime that stops serving the model afterwards fails the gate.
 */

type Field = ModelManifest['inputSchema'][number];

const zero = (f: Field): Scalar => (f.type === 'number' || f.type === 'integer' ? 0 : f.type === 'boolean' ? false : f.categories?.[0] ?? '');
const extreme = (sign: 1 | -1) => (f: Field): Scalar =>
  f.type === 'number' ? sign * 1e12 : f.type === 'integer' ? sign * 2 ** 31 : f.type === 'boolean' ? sign > 0 : f.type === 'category' ? (f.categories?.at(sign > 0 ? -1 : 0) ?? 'x'.repeat(10_000)) : 'x'.repeat(10_000);
const wrongType = (f: Field): Scalar => (f.type === 'number' || f.type === 'integer' || f.type === 'boolean' ? 'not-a-number' : 12345);

/** The probes: a row of zeros, every value missing, both extremes, and wrong types, one request each. */
export function edgeCaseRequests(inputSchema: readonly Field[]): { name: string; request: InferenceRequest }[] {
  const row = (value: (f: Field) => Scalar) => inputSchema.map(value);
  const cases: [string, Scalar[]][] = [
    ['zeros', row(zero)],
    ['missing values', row(() => null)],
    ['large positive extremes', row(extreme(1))],
    ['large negative extremes', row(extreme(-1))],
    ['wrong types', row(wrongType)],
  ];
  // Sent with the declared datatypes, wrong values and all: the model (or its runtime) must judge them.
  return cases.map(([name, values]) => ({ name, request: toRequest(inputSchema, [values], `edge-case:${name}`) }));
}

export interface ProbeOptions {
  readonly model: string;
  readonly outputSchema: ModelManifest['outputSchema'];
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Called after each probe (heartbeats). */
  readonly onProgress?: (probe: string) => void;
}

async function probeOnce(runtime: ModelRuntime, name: string, request: InferenceRequest, options: ProbeOptions): Promise<ContractProbe> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    const answer = await runtime.infer(options.model, request, { signal });
    const [outputs] = outputsByRow(answer.outputs, 1, `${name} probe`);
    const problem = outputs ? outputProblem(options.outputSchema, outputs) : 'no outputs';
    return problem
      ? { name, outcome: 'invalid-output', detail: `answered with an output that breaks the output schema: ${problem}`, passed: false }
      : { name, outcome: 'output', detail: 'answered with a valid output', passed: true };
  } catch (err) {
    options.signal?.throwIfAborted();
    if (timeout.aborted) return { name, outcome: 'timeout', detail: `no answer within ${options.timeoutMs} ms`, passed: false };
    if (isRuntimeError(err) && err.status !== undefined && err.status >= 400 && err.status < 500 && err.status !== 429) {
      return { name, outcome: 'refused', detail: `refused cleanly: ${err.message}`, passed: true };
    }
    if (isRuntimeError(err) && err.status === undefined) return { name, outcome: 'crash', detail: `the runtime dropped the request: ${err.message}`, passed: false };
    return { name, outcome: 'crash', detail: `failed instead of answering or refusing: ${(err as Error).message}`, passed: false };
  }
}

/** Runs every probe one after another, then checks that the runtime still serves the model. */
export async function probeEdgeCases(runtime: ModelRuntime, inputSchema: readonly Field[], options: ProbeOptions): Promise<ContractProbe[]> {
  const probes: ContractProbe[] = [];
  for (const { name, request } of edgeCaseRequests(inputSchema)) {
    probes.push(await probeOnce(runtime, `edge case: ${name}`, request, options));
    options.onProgress?.(name);
  }
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const alive = await runtime.ready(options.model, { signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout }).catch(() => false);
  probes.push({
    name: 'runtime alive afterwards',
    outcome: alive ? 'output' : 'crash',
    detail: alive ? 'the model still serves after the edge cases' : 'the runtime no longer serves the model after the edge cases',
    passed: alive,
  });
  return probes;
}

/** A probe of the whole dataset's answers: recorded as the schema contract. */
export function schemaProbe(problem: string | null): ContractProbe {
  return problem
    ? { name: 'outputs conform to outputSchema', outcome: 'invalid-output', detail: problem, passed: false }
    : { name: 'outputs conform to outputSchema', outcome: 'output', detail: 'every scored row has every output field with a value of its type', passed: true };
}

/** p50 and p95 (numpy's linear interpolation) of single-row requests, `batch` of them, one at a time. */
export async function measureLatency(
  runtime: ModelRuntime,
  model: string,
  inputSchema: readonly Field[],
  rows: readonly Scalar[][],
  batch: number,
  control: { signal?: AbortSignal; onProgress?: (requests: number) => void } = {},
): Promise<{ batch: number; p50Ms: number; p95Ms: number }> {
  const { signal, onProgress } = control;
  const times: number[] = [];
  for (let i = 0; i < batch; i++) {
    const request = toRequest(inputSchema, [rows[i % rows.length]!], `latency:${i}`);
    const started = performance.now();
    await runtime.infer(model, request, signal ? { signal } : {});
    times.push(performance.now() - started);
    if (i % 50 === 49) onProgress?.(i + 1);
  }
  times.sort((a, b) => a - b);
  return { batch, p50Ms: percentile(times, 0.5), p95Ms: percentile(times, 0.95) };
}

export function percentile(sorted: readonly number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}
