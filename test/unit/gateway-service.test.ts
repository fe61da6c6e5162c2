import { describe, expect, it } from 'vitest';
import { Gateway, GatewayError, runtimeFailure } from '../../api/gateway/gateway.js';
import { groupRoutes } from '../../api/gateway/routing-table.js';
import { seededRandom } from '../../api/gateway/router.js';
import { GatewayWindows } from '../../api/gateway/windows.js';
import type { Observation } from '../../core/observation.js';
import type { InferenceRequest, InferenceResponse } from '../../runtimes/protocol.js';
import type { ModelRuntime } from '../../runtimes/runtime.js';

/** A runtime double: each model name answers with a function of its input (pure logic only; real runtimes are in the integration test). */
function fakeRuntime(models: Record<string, (x: number) => number | Error>): ModelRuntime {
  const notUsed = () => Promise.reject(new Error('not used'));
  return {
    target: { name: 'default', kind: 'builtin', url: 'http://unused', repository: '/unused' },
    load: notUsed,
    unload: notUsed,
    index: notUsed,
    ready: async (name) => name in models,
    metadata: async (name) => ({ name, platform: 'fake', inputs: [], outputs: [] }),
    async infer(name, request: InferenceRequest): Promise<InferenceResponse> {
      const x = Number(request.inputs[0]!.data[0]);
      const y = models[name]!(x);
      if (y instanceof Error) throw y;
      return { model_name: name, id: request.id ?? null, outputs: [{ name: 'score', shape: [1], datatype: 'FP64', data: [y] }] };
    },
  };
}

const rows = [
  { id: 'champ', model_name: 'credit-scorer', model_version_id: 'credit-scorer@1.0.0', target: 'default', strategy: 'replace', traffic_share: 1, from_time: '2026-11-01T00:00:00Z' },
  { id: 'shadow', model_name: 'credit-scorer', model_version_id: 'credit-scorer@2.0.0', target: 'default', strategy: 'shadow', traffic_share: 0, from_time: '2026-11-02T00:00:00Z' },
];

function gatewayWith(models: Record<string, (x: number) => number | Error>, extraRows: typeof rows = []) {
  const sent: Observation[] = [];
  const windows = new GatewayWindows({ windowMs: 60_000, maxRequests: 1e9, send: async (_id, o) => (sent.push(o), 'sent') });
  const table = groupRoutes([...rows, ...extraRows]);
  const gateway = new Gateway({ routing: { routes: async (m) => table.get(m) ?? null }, runtimeFor: (t) => (t === 'default' ? fakeRuntime(models) : undefined), windows, random: seededRandom(5) });
  return { gateway, windows, sent, byId: (id: string) => sent.find((o) => o.id.startsWith(`gw:${id}:`)) };
}

const request = (x: number, id?: string): InferenceRequest => ({ ...(id ? { id } : {}), inputs: [{ name: 'x', shape: [1], datatype: 'FP64', data: [x] }] });

describe('the scoring gateway (runtime double)', () => {
  it('answers from the champion under the model\'s name, with the caller\'s id or a generated one', async () => {
    const { gateway } = gatewayWith({ 'credit-scorer-v1.0.0': (x) => x * 2, 'credit-scorer-v2.0.0': (x) => x * 3 });
    const answer = await gateway.infer('credit-scorer', undefined, request(5, 'req-1'));
    expect(answer).toMatchObject({ model_name: 'credit-scorer', model_version: '1.0.0', id: 'req-1', outputs: [{ data: [10] }] });
    const generated = await gateway.infer('credit-scorer', undefined, request(5));
    expect(generated.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('never returns the shadow\'s answer, compares it, and a failing shadow leaves callers untouched', async () => {
    const { gateway, windows, byId } = gatewayWith({ 'credit-scorer-v1.0.0': (x) => x * 2, 'credit-scorer-v2.0.0': (x) => (x > 5 ? new Error('boom') : x < 3 ? x * 2 : x * 3) });
    const answers = await Promise.all([1, 2, 3, 4, 6, 7].map((x) => gateway.infer('credit-scorer', undefined, request(x))));
    expect(answers.map((a) => a.outputs[0]!.data[0])).toEqual([2, 4, 6, 8, 12, 14]);
    expect(answers.every((a) => a.model_version === '1.0.0')).toBe(true);
    await gateway.settled();
    await windows.flush();
    expect(byId('champ')).toMatchObject({ requests: 6, errors: 0 });
    expect(byId('shadow')).toMatchObject({ requests: 6, errors: 2, shadow: { compared: 4, agreed: 2 }, kpis: { shadow_agreement: 0.5 } });
  });

  it('answers 404 for a model without a live deployment, 503 when the runtime fails, 400 when it refuses the body', async () => {
    const refused = Object.assign(new Error('input x: wrong shape'), { status: 400 });
    const { gateway, windows, byId } = gatewayWith({ 'credit-scorer-v1.0.0': (x) => (x === 0 ? refused : new Error('connect ECONNREFUSED')), 'credit-scorer-v2.0.0': (x) => x });
    await expect(gateway.infer('unknown-model', undefined, request(1))).rejects.toMatchObject({ statusCode: 404, message: 'model unknown-model has no live deployment' });
    await expect(gateway.infer('credit-scorer', '9.9.9', request(1))).rejects.toMatchObject({ statusCode: 404 });
    await expect(gateway.infer('credit-scorer', undefined, request(1))).rejects.toMatchObject({ statusCode: 503 });
    await expect(gateway.infer('credit-scorer', undefined, request(0))).rejects.toBeInstanceOf(GatewayError);
    await expect(gateway.infer('credit-scorer', undefined, request(0))).rejects.toMatchObject({ statusCode: 400, message: /refused the request: input x: wrong shape/ });
    await windows.flush();
    // Three requests reached the champion: one failed (the model's error), two refused (the caller's).
    expect(byId('champ')).toMatchObject({ requests: 3, errors: 1, kpis: { rejected_requests: 2 } });
  });

  it('answers from the champion when a rolled-back canary is no longer loaded, without charging the canary', async () => {
    const notLoaded = () => Object.assign(new Error('model credit-scorer-v1.1.0 not found'), { status: 404 });
    const canaryRow = { ...rows[0]!, id: 'canary', model_version_id: 'credit-scorer@1.1.0', strategy: 'canary', traffic_share: 1 };
    const { gateway, windows, byId } = gatewayWith({ 'credit-scorer-v1.0.0': (x) => x * 2, 'credit-scorer-v2.0.0': (x) => x * 2, 'credit-scorer-v1.1.0': notLoaded }, [canaryRow]);
    const answer = await gateway.infer('credit-scorer', undefined, request(4));
    expect(answer).toMatchObject({ model_version: '1.0.0', outputs: [{ data: [8] }] });
    // Named explicitly, the unloaded version is the model's error.
    await expect(gateway.infer('credit-scorer', '1.1.0', request(4))).rejects.toMatchObject({ statusCode: 503 });
    await gateway.settled();
    await windows.flush();
    expect(byId('champ')).toMatchObject({ requests: 1, errors: 0 });
    expect(byId('canary')).toMatchObject({ requests: 1, errors: 1 });
  });

  it('a target without a runtime is 503, naming the target', async () => {
    const { gateway } = gatewayWith({}, [{ ...rows[0]!, id: 'other', model_name: 'elsewhere', model_version_id: 'elsewhere@1.0.0', target: 'gpu' }]);
    await expect(gateway.infer('elsewhere', undefined, request(1))).rejects.toMatchObject({ statusCode: 503, message: /target gpu .* has no runtime configured/ });
  });

  it('classifies runtime failures: a 4xx is the caller\'s, the rest the model\'s', () => {
    expect(runtimeFailure({ status: 400 })).toBe('caller');
    expect(runtimeFailure({ status: 422 })).toBe('caller');
    expect(runtimeFailure({ status: 429 })).toBe('model');
    // The version is not loaded (unloaded under a stale route): not the caller's doing.
    expect(runtimeFailure({ status: 404 })).toBe('model');
    expect(runtimeFailure({ status: 500 })).toBe('model');
    expect(runtimeFailure(new Error('timeout'))).toBe('model');
  });
});
