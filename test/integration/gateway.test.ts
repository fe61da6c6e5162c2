import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactStager } from '../../activities/runtime-staging.js';
import { buildApi } from '../../api/server.js';
import { createApiToken } from '../../api/tokens.js';
import { lifecycleRunHistories } from '../../audit/run-histories.js';
import { isWindowJudged } from '../../core/evidence.js';
import { manifestSchema, type ModelManifest } from '../../core/manifest.js';
import type { Observation } from '../../core/observation.js';
import type { Principal } from '../../core/principal.js';
import type { InferenceRequest } from '../../runtimes/protocol.js';
import { startBuiltinRuntime, type BuiltinRuntime } from '../../runtimes/builtin/server.js';
import { modelToServe, runtimeModelName } from '../../runtimes/runtime.js';
import { createRuntimes, parseRuntimeTargets, type Runtimes } from '../../runtimes/targets.js';
import { statusQuery } from '../../workflows/messages.js';
import { continuingTemplates } from '../fixtures/workflows/continuing-monitor.js';
import { writeArtifact } from '../harness/artifacts.js';
import { stageTransitionsIn } from '../harness/history.js';
import { eventually, startBundledLifecycles, type BundledLifecycles } from '../harness/index.js';
import { sampleManifest } from '../harness/manifests.js';
import { testReadSettings } from '../harness/reading.js';

/**
 * The scoring gateway against real parts: PostgreSQL, a Temporal dev server running a real lifecycle, and
 * Steward's built-in V2 runtime serving JSON linear models. The champion is deployed by its lifecycle; canary
 * and shadow rows are written to the catalog beside it, as the deploy stage writes them.
 */
const CHAMPION = { kind: 'linear', features: ['income', 'debt_to_income'], coefficients: [-0.00002, 6.5], intercept: -1.2, link: 'logistic', threshold: 0.5 };
const DIFFERENT = { ...CHAMPION, coefficients: [-0.00001, 3.5], intercept: 0.4 };

const WINDOW_MS = 1000;
const scoring = (id?: string): InferenceRequest => ({
  ...(id ? { id } : {}),
  inputs: [
    { name: 'income', shape: [3], datatype: 'FP64', data: [42_000, 85_000, 23_000] },
    { name: 'debt_to_income', shape: [3], datatype: 'FP64', data: [0.31, 0.12, 0.58] },
  ],
});

describe('the scoring gateway', () => {
  let stack: BundledLifecycles;
  let runtime: BuiltinRuntime;
  let runtimes: Runtimes;
  let repository: string;
  let api: FastifyInstance;
  let base: string;
  let scorer: string;
  let auditor: string;
  let manifest: ModelManifest;
  let championId: string;
  let deploymentId: string;
  const erin: Principal = { id: 'erin', roles: ['engineer'] };

  const call = async (method: string, path: string, options: { token?: string | null; body?: unknown } = {}) => {
    const token = options.token === undefined ? scorer : options.token;
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(options.body !== undefined ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
  };
  const infer = (name: string, body: unknown = scoring(), token?: string | null) => call('POST', `/v2/models/${name}/infer`, { body, ...(token !== undefined ? { token } : {}) });

  /** Another version of the champion's model, in the catalog and loaded in the runtime. */
  async function addVersion(version: string, model: object, strategy: 'canary' | 'shadow', share: number): Promise<string> {
    const db = stack.database.db;
    const id = `${manifest.name}@${version}`;
    const row = await db.selectFrom('model_versions').selectAll().where('id', '=', championId).executeTakeFirstOrThrow();
    const { search: _search, ...fields } = row;
    await db
      .insertInto('model_versions')
      .values({ ...fields, id, version, workflow_id: `test-only:${id}`, manifest: JSON.stringify(row.manifest), tags: JSON.stringify(row.tags) })
      .execute();
    const artifact = await writeArtifact('model.json', JSON.stringify(model));
    await runtimes.forTarget('default').load(modelToServe({ ...manifest, version, artifacts: [{ ...artifact, name: 'model' }] }, id));
    const deployment = `${id}:${strategy}`;
    await db
      .insertInto('deployments')
      .values({ id: deployment, model_name: manifest.name, model_version_id: id, target: 'default', strategy, traffic_share: share, from_time: new Date(), to_time: null, end_reason: null })
      .execute();
    return deployment;
  }

  const endDeployment = (id: string) =>
    stack.database.db.updateTable('deployments').set({ to_time: new Date(), end_reason: 'test over' }).where('id', '=', id).execute();

  const windowRows = (deployment: string) =>
    stack.database.db.selectFrom('gateway_windows').selectAll().where('deployment_id', '=', deployment).orderBy('window_start').execute();

  beforeAll(async () => {
    stack = await startBundledLifecycles('gateway', 'continuing-monitor.ts', continuingTemplates);
    repository = await mkdtemp(join(tmpdir(), 'steward-gateway-models-'));
    runtime = await startBuiltinRuntime({ repository, host: '127.0.0.1', port: 0 });
    const targets = parseRuntimeTargets({ STEWARD_RUNTIMES: JSON.stringify({ default: { kind: 'builtin', url: runtime.url, repository } }) });
    runtimes = createRuntimes(targets, { stage: createArtifactStager(testReadSettings()) });

    // The champion: a real lifecycle on the monitor stage, whose deploy stage wrote its deployment row.
    const artifact = await writeArtifact('model.json', JSON.stringify(CHAMPION));
    manifest = manifestSchema.parse(
      await sampleManifest({ name: 'gw-credit', template: 'continuing', framework: 'json-linear', artifacts: [{ ...artifact, name: 'model' }], deploymentTarget: 'default' }),
    );
    const { workflowId, modelVersionId } = await stack.lifecycles.register(manifest, erin);
    championId = modelVersionId;
    const handle = stack.client.workflow.getHandle(workflowId);
    await eventually('the champion monitored', async () => ((await handle.query(statusQuery)).stage === 'monitor' ? true : undefined), { timeoutMs: 30_000 });
    const live = await stack.database.db.selectFrom('deployments').selectAll().where('model_version_id', '=', championId).where('to_time', 'is', null).executeTakeFirstOrThrow();
    deploymentId = live.id;
    expect(live).toMatchObject({ strategy: 'replace', target: 'default' });
    // Loading is idempotent: whether or not the deploy stage loaded it already, it is loaded once now.
    await runtimes.forTarget('default').load(modelToServe(manifest, championId));

    api = await buildApi({
      client: stack.client,
      db: stack.database.db,
      evidence: stack.database.evidence,
      taskQueue: 'gateway-unused',
      logger: false,
      readPolicy: testReadSettings().policy,
      gateway: { windowMs: WINDOW_MS, runtimeFor: (target) => (target === 'default' ? runtimes.forTarget('default') : undefined), routesTtlMs: 200 },
    });
    base = await api.listen({ host: '127.0.0.1', port: 0 });
    scorer = await createApiToken(stack.database.db, 'scoring-service', ['scorer']);
    auditor = await createApiToken(stack.database.db, 'audrey', ['auditor']);
  });

  afterAll(async () => {
    await api?.close();
    await runtimes?.close();
    await runtime?.close();
    await stack?.stop();
    if (repository) await rm(repository, { recursive: true, force: true });
  });

  it('answers as the runtime does when called directly, under the model name and the version that answered', async () => {
    const direct = await fetch(`${runtime.url}/v2/models/${runtimeModelName(championId)}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(scoring('direct-1')),
    }).then((r) => r.json() as Promise<{ outputs: unknown[] }>);
    const through = await infer(manifest.name, scoring('caller-id-1'));
    expect(through.status).toBe(200);
    expect(through.body).toMatchObject({ model_name: manifest.name, model_version: '1.0.0', id: 'caller-id-1' });
    expect(through.body!.outputs).toEqual(direct.outputs);
    expect((through.body!.outputs as { name: string }[]).map((o) => o.name).sort()).toEqual(['label', 'probability']);

    const generated = await infer(manifest.name, scoring());
    expect(generated.body!.id).toMatch(/^[0-9a-f-]{36}$/);
    const pinned = await call('POST', `/v2/models/${manifest.name}/versions/1.0.0/infer`, { body: scoring() });
    expect(pinned.body!.outputs).toEqual(direct.outputs);

    // Each request id is recorded for label joins, with the version, deployment and window that answered.
    const recorded = await eventually('the request recorded', async () =>
      (await stack.database.db.selectFrom('gateway_requests').selectAll().where('request_id', '=', 'caller-id-1').executeTakeFirst()) ?? undefined,
    );
    expect(recorded).toMatchObject({ model_version_id: championId, deployment_id: deploymentId });
    expect(recorded.window_id).toMatch(new RegExp(`^gw:${deploymentId}:`));
    // An id PostgreSQL cannot store as sent (U+0000) is answered as sent and recorded without the NUL.
    expect((await infer(manifest.name, scoring('nul\u0000id'))).body).toMatchObject({ id: 'nul\u0000id' });
    await eventually('the NUL id recorded', async () =>
      (await stack.database.db.selectFrom('gateway_requests').select('request_id').where('request_id', '=', 'nulid').executeTakeFirst()) ?? undefined,
    );

    expect((await call('GET', `/v2/models/${manifest.name}`)).body).toMatchObject({ name: manifest.name, versions: ['1.0.0'] });
    expect(await call('GET', `/v2/models/${manifest.name}/ready`)).toMatchObject({ status: 200, body: { ready: true } });
    expect(await call('GET', '/v2/health/live', { token: null })).toMatchObject({ status: 200 });
    expect(await call('GET', '/v2/health/ready', { token: null })).toMatchObject({ status: 200, body: { ready: true } });
  });

  it('hands a closed window to the lifecycle as one observation, judged once', async () => {
    for (let i = 0; i < 5; i++) expect((await infer(manifest.name)).status).toBe(200);
    const workflowId = `model-version:${championId}`;
    const judged = async () =>
      (await lifecycleRunHistories(stack.client, workflowId)).flatMap((r) => stageTransitionsIn(r.history)).filter(isWindowJudged).filter((t) => t.detail.window.reportedBy === 'gateway');
    const windows = await eventually('a gateway window judged', async () => ((await judged()).length > 0 ? judged() : undefined), { timeoutMs: 20_000 });
    const window = windows[0]!.detail.window;
    expect(window.id).toMatch(new RegExp(`^gw:${deploymentId}:\\d{4}-`));
    // The observation signal itself: requests, errors and latency from the gateway's window.
    const signals = (await lifecycleRunHistories(stack.client, workflowId))
      .flatMap((r) => r.history.events ?? [])
      .filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'observation');
    const observations = signals.map((e) => JSON.parse(Buffer.from(e.workflowExecutionSignaledEventAttributes!.input!.payloads![0]!.data!).toString()) as Observation);
    const first = observations.find((o) => o.id === window.id)!;
    expect(first).toMatchObject({ reportedBy: 'gateway', errors: 0 });
    expect(first.requests).toBeGreaterThan(0);
    expect(first.kpis.latency_p50_ms).toBeGreaterThan(0);
    expect(first.latencyMs!.p99).toBeGreaterThanOrEqual(first.latencyMs!.p50);
    // One signal per window, never one per request.
    expect(new Set(observations.map((o) => o.id)).size).toBe(observations.length);
    expect(observations.reduce((n, o) => n + o.requests, 0)).toBeLessThanOrEqual(9);
  });

  it('sends about the canary share to the canary, and a rolled-back canary stops receiving traffic', async () => {
    const canary = await addVersion('1.1.0', CHAMPION, 'canary', 0.3);
    await eventually('the canary routed', async () => ((await infer(manifest.name)).body!.model_version === '1.1.0' ? true : undefined), { timeoutMs: 10_000 });
    const n = 300;
    const versions = await Promise.all(Array.from({ length: n }, () => infer(manifest.name).then((r) => r.body!.model_version)));
    const toCanary = versions.filter((v) => v === '1.1.0').length;
    const sd = Math.sqrt(n * 0.3 * 0.7);
    expect(Math.abs(toCanary - n * 0.3)).toBeLessThan(4 * sd);
    expect(versions.every((v) => v === '1.0.0' || v === '1.1.0')).toBe(true);

    await endDeployment(canary);
    // Within the routing table's TTL (200 ms here): 30 answers in a row from the champion (0.7^30 by chance).
    const batch = () => Promise.all(Array.from({ length: 30 }, () => infer(manifest.name).then((r) => r.body!.model_version)));
    await eventually('the canary out of the split', async () => ((await batch()).every((v) => v === '1.0.0') ? true : undefined));
    const after = await Promise.all(Array.from({ length: 50 }, () => infer(manifest.name).then((r) => r.body!.model_version)));
    expect(after.every((v) => v === '1.0.0')).toBe(true);
  });

  it('mirrors to shadows without returning their answers, and compares them with the champion\'s', async () => {
    const agreeing = await addVersion('1.2.0', CHAMPION, 'shadow', 0);
    const disagreeing = await addVersion('1.3.0', DIFFERENT, 'shadow', 0);
    const champion = (await infer(manifest.name)).body!.outputs;
    await eventually('both shadows compared', async () => {
      const [a, b] = await Promise.all([windowRows(agreeing), windowRows(disagreeing)]);
      return a.length > 0 && b.length > 0 ? true : (await infer(manifest.name), undefined);
    }, { timeoutMs: 20_000 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => infer(manifest.name)));
    for (const a of answers) {
      expect(a.body).toMatchObject({ model_version: '1.0.0' });
      expect(a.body!.outputs).toEqual(champion);
    }
    await eventually('the shadows\' windows recorded', async () => {
      const sum = async (d: string) => (await windowRows(d)).reduce((n, w) => n + ((w.observation as Observation).shadow?.compared ?? 0), 0);
      return (await sum(agreeing)) >= 21 && (await sum(disagreeing)) >= 21 ? true : undefined;
    }, { timeoutMs: 20_000 });
    for (const [deployment, expected] of [[agreeing, 1], [disagreeing, 0]] as const) {
      const rows = await windowRows(deployment);
      const observations = rows.map((w) => w.observation as Observation);
      const compared = observations.reduce((n, o) => n + (o.shadow?.compared ?? 0), 0);
      const agreed = observations.reduce((n, o) => n + (o.shadow?.agreed ?? 0), 0);
      expect(agreed / compared).toBe(expected);
      expect(observations.every((o) => o.kpis.shadow_agreement === expected)).toBe(true);
      expect(observations[0]!.shadow!.championP50Ms).toBeGreaterThan(0);
      // The window keeps a bounded sample of what the shadow saw and said.
      expect((rows[0]!.sample as unknown[]).length).toBeGreaterThan(0);
    }
    await endDeployment(agreeing);
    await endDeployment(disagreeing);
  });

  it('refuses bad bodies with 400 naming the field, unknown models with 404, and callers without a fitting token', async () => {
    const bad = await infer(manifest.name, { inputs: [{ name: 'income', shape: [1], datatype: 'FP65', data: [1] }] });
    expect(bad.status).toBe(400);
    expect(bad.body!.error).toMatch(/^body\.inputs\.0\.datatype: /);
    expect((await infer(manifest.name, { inputs: [] })).body).toEqual({ error: 'body.inputs: at least one input tensor is required' });
    expect((await infer(manifest.name, '{"inputs": [')).status).toBe(400);
    // The runtime refusing the body (a missing feature) is the caller's 400, not the model's error.
    const missing = await infer(manifest.name, { inputs: [{ name: 'income', shape: [1], datatype: 'FP64', data: [1] }] });
    expect(missing.status).toBe(400);
    expect(String(missing.body!.error)).toMatch(/debt_to_income/);

    expect(await infer('no-such-model')).toMatchObject({ status: 404, body: { error: 'model no-such-model has no live deployment' } });
    expect(await infer(manifest.name, scoring(), null)).toMatchObject({ status: 401, body: { error: expect.stringMatching(/Bearer/) } });
    expect(await infer(manifest.name, scoring(), 'stw_not-a-token')).toMatchObject({ status: 401 });
    expect(await infer(manifest.name, scoring(), auditor)).toMatchObject({ status: 403 });
    expect((await call('GET', `/v2/models/${manifest.name}`, { token: null })).status).toBe(401);
  });

  it('answers 503 when the runtime is down, and counts it as the model\'s error', async () => {
    const other = await buildApi({
      client: stack.client,
      db: stack.database.db,
      evidence: stack.database.evidence,
      taskQueue: 'gateway-unused',
      logger: false,
      readPolicy: testReadSettings().policy,
      gateway: { windowMs: 60_000, public: true, timeoutMs: 2000, targets: parseRuntimeTargets({ STEWARD_RUNTIMES: JSON.stringify({ default: { kind: 'builtin', url: 'http://127.0.0.1:9', repository } }) }) },
    });
    try {
      const res = await other.inject({ method: 'POST', url: `/v2/models/${manifest.name}/infer`, payload: scoring() });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ error: expect.stringMatching(new RegExp(`^model ${manifest.name} \\(version 1.0.0\\) is unavailable`)) });
    } finally {
      await other.close();
    }
    // Closing flushed its window: one request, one error, sent to the champion's lifecycle.
    const rows = await windowRows(deploymentId);
    expect(rows.some((w) => (w.observation as Observation).errors === 1 && (w.observation as Observation).requests === 1)).toBe(true);
  });
});
