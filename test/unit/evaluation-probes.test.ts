import { describe, expect, it } from 'vitest';
import { measureLatency, percentile, probeEdgeCases } from '../../activities/evaluation/contract.js';
import { outputProblem, scoreOf } from '../../activities/evaluation/scoring.js';
import type { ModelManifest } from '../../core/manifest.js';
import { RuntimeError } from '../../runtimes/oip.js';
import type { InferenceRequest, InferenceResponse } from '../../runtimes/protocol.js';
import type { ModelRuntime } from '../../runtimes/runtime.js';

/**
 * The edge-case probes' judgement, over a runtime double that misbehaves on purpose (answers, refuses, fails
 * with a 5xx, hangs, drops the connection, stops serving). The probes against the real built-in runtime are in
 * test/integration/test-gate-scoring.test.ts.
 */

const inputSchema: ModelManifest['inputSchema'] = [
  { name: 'income', type: 'number', nullable: false },
  { name: 'age_band', type: 'category', nullable: false, categories: ['18-25', '65+'] },
];
const outputSchema: ModelManifest['outputSchema'] = [{ name: 'probability', type: 'number', nullable: false }];

type Behaviour = (request: InferenceRequest, signal: AbortSignal | undefined) => Promise<InferenceResponse>;

function runtimeDouble(behaviour: Behaviour, alive = () => true): ModelRuntime {
  return {
    target: { name: 'default', kind: 'builtin', url: 'http://127.0.0.1:1', repository: '/nowhere' },
    load: async () => undefined,
    unload: async () => undefined,
    ready: async () => alive(),
    metadata: async () => ({ name: 'm', platform: 'test', inputs: [], outputs: [] }),
    infer: (_name, request, options) => behaviour(request, options?.signal),
    index: async () => [],
  };
}

const answer = (probability: unknown): InferenceResponse => ({ model_name: 'm', outputs: [{ name: 'probability', shape: [1], datatype: 'FP64', data: [probability] }] });
const valueOf = (request: InferenceRequest, field: string) => request.inputs.find((t) => t.name === field)?.data[0];

describe('edge-case probes', () => {
  it('passes valid outputs and clean refusals, and checks the runtime still serves afterwards', async () => {
    const runtime = runtimeDouble(async (request) => {
      const income = valueOf(request, 'income');
      if (typeof income !== 'number') throw new RuntimeError(`input income: ${JSON.stringify(income)} is not a number`, 400, false);
      return answer(0.5);
    });
    const probes = await probeEdgeCases(runtime, inputSchema, { model: 'm', outputSchema, timeoutMs: 1000 });
    expect(probes.map((p) => [p.name, p.outcome, p.passed])).toEqual([
      ['edge case: zeros', 'output', true],
      ['edge case: missing values', 'refused', true],
      ['edge case: large positive extremes', 'output', true],
      ['edge case: large negative extremes', 'output', true],
      ['edge case: wrong types', 'refused', true],
      ['runtime alive afterwards', 'output', true],
    ]);
  });

  it('fails a 5xx, a dropped connection, an output that breaks the schema, a hang (within the timeout) and a runtime down afterwards', async () => {
    let down = false;
    const runtime = runtimeDouble(
      async (request, signal) => {
        const income = valueOf(request, 'income');
        if (income === null) throw new RuntimeError('500 internal error', 500, true);
        if (income === 0) return answer(null); // a NaN after JSON
        if (typeof income === 'string') {
          // Hangs until the probe gives up on it.
          return new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason as Error)));
        }
        if ((income as number) < 0) {
          down = true;
          throw new RuntimeError('socket hang up', undefined, true);
        }
        return answer(0.4);
      },
      () => !down,
    );
    const started = Date.now();
    const probes = await probeEdgeCases(runtime, inputSchema, { model: 'm', outputSchema, timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(probes.map((p) => [p.name, p.outcome, p.passed])).toEqual([
      ['edge case: zeros', 'invalid-output', false],
      ['edge case: missing values', 'crash', false],
      ['edge case: large positive extremes', 'output', true],
      ['edge case: large negative extremes', 'crash', false],
      ['edge case: wrong types', 'timeout', false],
      ['runtime alive afterwards', 'crash', false],
    ]);
    expect(probes[0]!.detail).toBe('answered with an output that breaks the output schema: output probability is null but the field is not nullable');
    expect(probes[4]!.detail).toBe('no answer within 300 ms');
  });
});

describe('output contract and latency', () => {
  it('names the output and the problem when an answer breaks the output schema', () => {
    expect(outputProblem(outputSchema, { probability: 0.2 })).toBeNull();
    expect(outputProblem(outputSchema, { score: 0.2 })).toBe('output probability is missing (outputs: score)');
    expect(outputProblem(outputSchema, { probability: 'high' })).toBe('output probability is "high", not a valid number');
    expect(outputProblem([{ name: 'label', type: 'category', nullable: false, categories: ['no', 'yes'] }], { label: 'maybe' })).toBe('output label is "maybe", not a valid category');
  });

  it("takes the positive class's probability from a [negative, positive] pair", () => {
    expect(scoreOf([0.3, 0.7], 'probabilities', 1)).toBe(0.7);
    expect(scoreOf(0.25, 'probability', 1)).toBe(0.25);
    expect(() => scoreOf([0.1, 0.2, 0.7], 'probabilities', 4)).toThrow('row 4: output probabilities is [0.1,0.2,0.7], not a score');
  });

  it('measures p50 and p95 over the configured number of single-row requests, as numpy interpolates', async () => {
    let calls = 0;
    const runtime = runtimeDouble(async () => {
      calls += 1;
      return answer(0.5);
    });
    const latency = await measureLatency(runtime, 'm', inputSchema, [[1, '18-25']], 25);
    expect(calls).toBe(25);
    expect(latency.batch).toBe(25);
    expect(latency.p95Ms).toBeGreaterThanOrEqual(latency.p50Ms);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95)).toBeCloseTo(9.55, 12);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5);
  });
});
