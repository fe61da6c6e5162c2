import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gateway } from '../../api/gateway/gateway.js';
import { DEFAULT_GATEWAY_SETTINGS, type GatewayService } from '../../api/gateway/index.js';
import type { RequestLog } from '../../api/gateway/request-log.js';
import { groupRoutes } from '../../api/gateway/routing-table.js';
import { GatewayWindows } from '../../api/gateway/windows.js';
import { gatewayRoutes } from '../../api/routes/gateway.js';
import { InferenceAnswer } from '../../runtimes/answer.js';
import type { ByteScoring } from '../../runtimes/oip.js';
import type { ModelRuntime } from '../../runtimes/runtime.js';

/**
 * The scoring route on a byte-scoring runtime double (pure logic; the real runtimes are in the integration
 * tests): what the runtime receives is the caller's bytes, what the caller receives is the runtime's bytes
 * with the envelope replaced, and a body the schema refuses never reaches the runtime.
 */
const ANSWER_OUTPUTS = '"outputs":[{"name":"label","shape":[2],"datatype":"INT64","data":[9007199254740993,1]},{"name":"p","shape":[2],"datatype":"FP32","data":[1.0,1e-7]}]';
const received: string[] = [];

function byteRuntime(): ModelRuntime & ByteScoring {
  const notUsed = () => Promise.reject(new Error('not used'));
  return {
    target: { name: 'default', kind: 'builtin', url: 'http://unused', repository: '/unused' },
    load: notUsed,
    unload: notUsed,
    index: notUsed,
    ready: async () => true,
    metadata: notUsed,
    infer: notUsed,
    async inferBytes(name, body) {
      const text = Buffer.from(body).toString();
      received.push(text);
      const id = (JSON.parse(text) as { id: string }).id;
      return InferenceAnswer.scan(Buffer.from(`{"model_name":${JSON.stringify(name)},"id":${JSON.stringify(id)},"parameters":{},${ANSWER_OUTPUTS}}`));
    },
  };
}

let app: FastifyInstance;

beforeAll(async () => {
  const windows = new GatewayWindows({ windowMs: 60_000, maxRequests: 1e9, send: async () => 'sent' });
  const table = groupRoutes([{ id: 'champ', model_name: 'scorer', model_version_id: 'scorer@1.0.0', target: 'default', strategy: 'replace', traffic_share: 1, from_time: '2026-11-01T00:00:00Z' }]);
  const runtime = byteRuntime();
  const gateway = new Gateway({ routing: { routes: async (m) => table.get(m) ?? null }, runtimeFor: () => runtime, windows });
  const service: GatewayService = {
    gateway,
    settings: { ...DEFAULT_GATEWAY_SETTINGS, public: true },
    windows,
    requestLog: {} as RequestLog,
    authenticate: async () => null,
    close: async () => undefined,
  };
  app = Fastify().withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(rateLimit, { global: false });
  await app.register(gatewayRoutes, { service });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
});

describe('the scoring route on bytes', () => {
  it('forwards the caller\'s bytes and answers the runtime\'s outputs byte for byte under the model\'s name', async () => {
    const body = '{ "id": "c-1", "inputs": [ {"name": "n", "shape": [1], "datatype": "INT64", "data": [9007199254740993]} ] }';
    const res = await app.inject({ method: 'POST', url: '/v2/models/scorer/infer', headers: { 'content-type': 'application/json' }, payload: body });
    expect(res.statusCode).toBe(200);
    expect(received.at(-1)).toBe(body);
    expect(res.body).toBe(`{"model_name":"scorer","model_version":"1.0.0","id":"c-1","parameters":{},${ANSWER_OUTPUTS}}`);
  });

  it('reads the body as JSON whatever the content type says, as MLServer does (curl -d sends a form type)', async () => {
    const res = await app.inject({ method: 'POST', url: '/v2/models/scorer/infer', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: '{"inputs":[{"name":"n","shape":[1],"datatype":"FP64","data":[1]}]}' });
    expect(res.statusCode).toBe(200);
    const id = (res.json() as { id: string }).id;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    // The runtime got the generated id first and the rest of the caller's bytes unchanged.
    expect(received.at(-1)).toBe(`{"id":"${id}","inputs":[{"name":"n","shape":[1],"datatype":"FP64","data":[1]}]}`);
  });

  it('answers 400 naming the field for a body the schema refuses, without calling the runtime', async () => {
    const before = received.length;
    const bad = await app.inject({ method: 'POST', url: '/v2/models/scorer/infer', headers: { 'content-type': 'application/json' }, payload: '{"inputs":[{"name":"n","shape":[1],"datatype":"FP65","data":[1]}]}' });
    expect(bad.statusCode).toBe(400);
    expect((bad.json() as { error: string }).error).toMatch(/^body\.inputs\.0\.datatype: /);
    const broken = await app.inject({ method: 'POST', url: '/v2/models/scorer/infer', headers: { 'content-type': 'application/json' }, payload: '{"inputs": [' });
    expect(broken.statusCode).toBe(400);
    expect((broken.json() as { error: string }).error).toMatch(/^body is not JSON/);
    const empty = await app.inject({ method: 'POST', url: '/v2/models/scorer/infer' });
    expect(empty.statusCode).toBe(400);
    expect(received.length).toBe(before);
  });
});
