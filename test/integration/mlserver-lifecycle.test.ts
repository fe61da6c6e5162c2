import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactStager } from '../../activities/runtime-staging.js';
import { createApiToken } from '../../api/tokens.js';
import { lifecycleRunHistories } from '../../audit/run-histories.js';
import { createRuntimes, parseRuntimeTargets, type Runtimes } from '../../runtimes/targets.js';
import { runtimeModelName } from '../../runtimes/runtime.js';
import { stageTransitionsIn } from '../harness/history.js';
import { connectTestClient, createTestDatabase, eventually, startTestWorker, terminateRunning, uniqueTaskQueue, type RunningWorker, type TestDatabase, startTestApi, type TestApi } from '../harness/index.js';
import { sampleManifest } from '../harness/manifests.js';
import { startMlserver, trainSklearnModel, type RunningMlserver, type TrainedSklearnModel } from '../harness/mlserver.js';
import { testReadSettings } from '../harness/reading.js';

/**
 * The whole path on a real third-party runtime: a scikit-learn model registered, tested, scanned and approved
 * over the API, deployed through the Open Inference Protocol adapter into a real MLServer 1.7.1, scored through
 * Steward's gateway exactly as MLServer scores it when called directly, its traffic windows judged by the
 * lifecycle, and unloaded from MLServer when it retires.
 */
describe('a scikit-learn model on MLServer, end to end', () => {
  let mlserver: RunningMlserver;
  let model: TrainedSklearnModel;
  let database: TestDatabase;
  let client: Client;
  let runtimes: Runtimes;
  let worker: RunningWorker;
  let api: TestApi;
  let base: string;
  let dir: string;
  const taskQueue = uniqueTaskQueue('mlserver');
  const tokens: Record<'engineer' | 'approver' | 'auditor', string> = { engineer: '', approver: '', auditor: '' };

  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const features = (rows: number[][]) => ({ inputs: [{ name: 'features', shape: [rows.length, rows[0]!.length], datatype: 'FP64', data: rows.flat() }] });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'steward-mlserver-e2e-'));
    [model, mlserver] = await Promise.all([trainSklearnModel(join(dir, 'trained')), startMlserver({ repository: join(dir, 'repository') })]);
    database = await createTestDatabase();
    client = await connectTestClient();
    const targets = parseRuntimeTargets({ STEWARD_RUNTIMES: JSON.stringify({ mlserver: { kind: 'mlserver', url: mlserver.url, repository: mlserver.repository } }) });
    runtimes = createRuntimes(targets, { stage: createArtifactStager(testReadSettings()) });
    worker = await startTestWorker({ database, taskQueue, runtimes });
    api = await startTestApi({
      client,
      database,
      taskQueue,
      gateway: { targets, windowMs: 1_000 },
    });
    base = api.baseUrl;
    tokens.engineer = await createApiToken(database.db, 'erin', ['engineer']);
    tokens.approver = await createApiToken(database.db, 'ava', ['approver:risk']);
    tokens.auditor = await createApiToken(database.db, 'audrey', ['auditor']);
  }, 240_000);

  afterAll(async () => {
    await terminateRunning(client, taskQueue).catch(() => undefined);
    await api?.close();
    await worker?.stop();
    await runtimes?.close();
    await mlserver?.stop();
    await client?.connection.close();
    await database?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('deploys through the V2 adapter, scores through the gateway as MLServer does, records windows, and unloads on retirement', async () => {
    const manifest = await sampleManifest({
      name: 'iris-like',
      kind: 'ml',
      framework: 'scikit-learn',
      riskTier: 'medium',
      template: 'standard',
      deploymentTarget: 'mlserver',
      artifacts: [{ uri: pathToFileURL(model.modelPath).href, sha256: model.sha256, name: 'model' }],
      inputSchema: ['f0', 'f1', 'f2', 'f3'].map((name) => ({ name, type: 'number' as const })),
      outputSchema: [{ name: 'predict', type: 'integer' }],
      protectedAttributes: [],
      metrics: { auc: 0.93 },
    });
    const registered = await call('POST', '/models', tokens.engineer, manifest);
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    const id = registered.body!.modelVersionId as string;
    const workflowId = registered.body!.workflowId as string;
    await eventually('the approval gate', async () => ((await call('GET', `/models/${id}`, tokens.auditor)).body?.catalog?.stage === 'approval' ? true : undefined), { timeoutMs: 60_000 });
    const approved = await call('POST', `/models/${id}/approvals`, tokens.approver, { decision: 'approve', comment: 'holdout reviewed' });
    expect(approved.status, JSON.stringify(approved.body)).toBeLessThan(300);

    // Deployed: MLServer's own repository index lists the version, loaded once, READY.
    const name = runtimeModelName(id);
    await eventually('the version in monitor', async () => ((await call('GET', `/models/${id}`, tokens.auditor)).body?.catalog?.stage === 'monitor' ? true : undefined), { timeoutMs: 90_000 });
    const index = await (await fetch(`${mlserver.url}/v2/repository/index`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json() as { name: string; state: string }[];
    expect(index.filter((e) => e.name === name).map((e) => e.state)).toEqual(['READY']);

    // The gateway answers what MLServer answers when called directly, and what scikit-learn predicted.
    const direct = (await (await fetch(`${mlserver.url}/v2/models/${name}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(features(model.inputs)) })).json()) as { outputs: { name: string; data: number[] }[] };
    const answers = [];
    for (let i = 0; i < 5; i++) {
      const scored = await call('POST', `/v2/models/${manifest.name}/infer`, tokens.engineer, { id: `req-${i}`, ...features(model.inputs) });
      expect(scored.status, JSON.stringify(scored.body)).toBe(200);
      answers.push(scored.body!);
    }
    for (const [i, answer] of answers.entries()) {
      expect(answer).toMatchObject({ model_name: manifest.name, model_version: '1.0.0', id: `req-${i}` });
      expect(answer.outputs.map((o: { name: string; data: number[] }) => [o.name, o.data])).toEqual(direct.outputs.map((o) => [o.name, o.data]));
    }
    expect(direct.outputs[0]!.data).toEqual(model.predictions);

    // The gateway's window reaches the lifecycle as one observation, judged and recorded.
    const observed = await eventually(
      'the gateway window judged by the lifecycle',
      async () => {
        const transitions = (await lifecycleRunHistories(client, workflowId)).flatMap((r) => stageTransitionsIn(r.history));
        const windows = transitions.filter((t) => t.step === 'observation');
        return windows.reduce((n, t) => n + ((t.detail as { requests: number }).requests ?? 0), 0) >= 5 ? windows : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(observed[0]).toMatchObject({ stage: 'monitor', outcome: 'passed', detail: { errors: 0, window: { reportedBy: 'gateway' } } });
    expect(Object.keys((observed[0]!.detail as { kpis: Record<string, number> }).kpis)).toEqual(expect.arrayContaining(['latency_p50_ms', 'latency_p95_ms', 'latency_p99_ms']));

    // Retirement unloads the version: MLServer's index shows it unavailable and it no longer scores.
    const retired = await call('POST', `/models/${id}/retire`, tokens.engineer, { reason: 'replaced by a newer model' });
    expect(retired.status).toBe(202);
    await client.workflow.getHandle(workflowId).result();
    const after = await (await fetch(`${mlserver.url}/v2/repository/index`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json() as { name: string; state: string }[];
    expect(after.filter((e) => e.name === name).map((e) => e.state)).toEqual(['UNAVAILABLE']);
    expect((await fetch(`${mlserver.url}/v2/models/${name}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(features(model.inputs)) })).status).toBe(404);
    // Once the gateway's routing table refreshes (about a second), the model has nothing serving it.
    const gone = await eventually('the gateway to stop routing', async () => {
      const res = await call('POST', `/v2/models/${manifest.name}/infer`, tokens.engineer, features(model.inputs));
      return res.status === 404 ? res : undefined;
    });
    expect(gone.body).toMatchObject({ error: expect.stringContaining(manifest.name) });
  }, 300_000);
});
