import { createServer, type Server } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOipRuntime, RuntimeError, scoresBytes, type OipRuntime } from '../../runtimes/oip.js';
import type { InferenceRequest } from '../../runtimes/protocol.js';
import { BUILTIN_IMPLEMENTATIONS } from '../../runtimes/runtime.js';
import { startTestRuntime, type TestRuntime } from '../harness/runtimes.js';

/**
 * The V2 client's byte path (the gateway's hot path) against the real built-in runtime: the answer's bytes
 * are the runtime's own, failures are the same RuntimeErrors as the built path's, and a runtime that never
 * answers fails the call within the timeout.
 */
const MODEL = 'limit-v1.0.0';
const LINEAR = { kind: 'linear', features: ['income', 'debt_to_income'], coefficients: [-0.00002, 6.5], intercept: -1.2, link: 'logistic', threshold: 0.5 };
const request: InferenceRequest = { id: 'r-1', inputs: [{ name: 'income', shape: [2], datatype: 'FP64', data: [42_000, 85_000] }, { name: 'debt_to_income', shape: [2], datatype: 'FP64', data: [0.31, 0.12] }] };

let runtime: TestRuntime;
let client: OipRuntime;
let silent: Server;
let silentUrl: string;

beforeAll(async () => {
  runtime = await startTestRuntime();
  const folder = join(runtime.repository, MODEL);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'model.json'), JSON.stringify(LINEAR));
  await writeFile(join(folder, 'model-settings.json'), JSON.stringify({ name: MODEL, implementation: BUILTIN_IMPLEMENTATIONS.linear, parameters: { uri: './model.json', version: '1.0.0' } }));
  expect((await fetch(`${runtime.url}/v2/repository/models/${MODEL}/load`, { method: 'POST' })).status).toBe(200);
  client = createOipRuntime({ name: 'default', kind: 'builtin', url: runtime.url, repository: runtime.repository }, { stage: async () => undefined });
  // Accepts connections and requests, never answers.
  silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
});

afterAll(async () => {
  await client?.close();
  silent?.closeAllConnections();
  await new Promise((resolve) => silent?.close(resolve));
  await runtime?.close();
});

describe('scoring with bytes over V2', () => {
  it('returns the runtime\'s answer byte for byte, the same answer the built path gives', async () => {
    expect(scoresBytes(client)).toBe(true);
    const body = Buffer.from(JSON.stringify(request));
    const direct = Buffer.from(await (await fetch(`${runtime.url}/v2/models/${MODEL}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).arrayBuffer());
    const answer = await client.inferBytes(MODEL, body, { timeoutMs: 5000 });
    const built = await client.infer(MODEL, request);
    // The envelope's id is the request's; outputs are exactly the bytes the runtime wrote.
    const outputsOf = (b: Buffer) => b.toString().slice(b.toString().indexOf('"outputs":'));
    expect(outputsOf(answer.bytes)).toBe(outputsOf(direct));
    expect(answer.parsed()).toEqual(built);
    const rewritten = JSON.parse(answer.rewrite({ model_name: 'limit', model_version: '1.0.0', id: 'r-1' }).toString()) as Record<string, unknown>;
    expect(rewritten).toEqual({ ...built, model_name: 'limit', model_version: '1.0.0', id: 'r-1' });
    expect(answer.outputsSummary().map((o) => o.name).sort()).toEqual(['label', 'probability']);
  });

  it('fails as the built path does: 400 for a refused body, 404 for a model not loaded', async () => {
    const missing = Buffer.from(JSON.stringify({ inputs: [request.inputs[0]] }));
    const refused = await client.inferBytes(MODEL, missing).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RuntimeError);
    expect(refused).toMatchObject({ status: 400, retryable: false, message: expect.stringMatching(/debt_to_income/) });
    const gone = await client.inferBytes('not-loaded-v1.0.0', Buffer.from(JSON.stringify(request))).catch((err: unknown) => err);
    expect(gone).toMatchObject({ status: 404 });
  });

  it('fails a call the runtime never answers within the timeout, and one it cannot reach', async () => {
    const stuck = createOipRuntime({ name: 'stuck', kind: 'builtin', url: silentUrl, repository: runtime.repository }, { stage: async () => undefined });
    try {
      const started = Date.now();
      const err = await stuck.inferBytes(MODEL, Buffer.from(JSON.stringify(request)), { timeoutMs: 300 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RuntimeError);
      expect(err).toMatchObject({ status: undefined, retryable: true });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await stuck.close();
    }
    const nowhere = createOipRuntime({ name: 'nowhere', kind: 'builtin', url: 'http://127.0.0.1:1', repository: runtime.repository }, { stage: async () => undefined });
    try {
      await expect(nowhere.inferBytes(MODEL, Buffer.from(JSON.stringify(request)))).rejects.toMatchObject({ status: undefined, retryable: true });
    } finally {
      await nowhere.close();
    }
  });
});
