import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactStager } from '../../activities/runtime-staging.js';
import { seededRandom } from '../../api/gateway/router.js';
import { Lifecycles } from '../../api/lifecycles.js';
import { createApiToken } from '../../api/tokens.js';
import { lifecycleRunHistories } from '../../audit/run-histories.js';
import { isWindowJudged } from '../../core/evidence.js';
import { manifestSchema, type ModelManifest } from '../../core/manifest.js';
import type { Observation } from '../../core/observation.js';
import type { Principal } from '../../core/principal.js';
import type { InferenceRequest, InferenceResponse } from '../../runtimes/protocol.js';
import { runtimeModelName } from '../../runtimes/runtime.js';
import { createRuntimes, parseRuntimeTargets, type Runtimes } from '../../runtimes/targets.js';
import { bundleWorkflows } from '../../workers/bundle.js';
import type { LifecycleResult } from '../../workflows/lifecycle.js';
import { statusQuery } from '../../workflows/messages.js';
import { rolloutTemplates } from '../fixtures/workflows/rollouts.js';
import { writeArtifact } from '../harness/artifacts.js';
import { failingInference, startFaultProxy, type FaultProxy } from '../harness/fault-proxy.js';
import { signalsIn, stageTransitionsIn } from '../harness/history.js';
import { connectTestClient, createTestDatabase, eventually, startTestWorker, terminateRunning, uniqueTaskQueue, type RunningWorker, type TestDatabase, startTestApi, type TestApi } from '../harness/index.js';
import { sampleManifest } from '../harness/manifests.js';
import { testReadSettings } from '../harness/reading.js';
import { startTestRuntime, type TestRuntime } from '../harness/runtimes.js';

/**
 * Rollouts on real traffic, end to end: lifecycles on a Temporal dev server deploy real models into a real
 * built-in runtime, the scoring gateway routes callers by the catalog's live split and hands its windows to
 * the lifecycles. Between them and the runtime sits a fault-injecting proxy, so a challenger can crash on
 * live traffic while the champion keeps answering.
 */
const CHAMPION = { kind: 'linear', features: ['income', 'debt_to_income'], coefficients: [-0.00002, 6.5], intercept: -1.2, link: 'logistic', threshold: 0.5 };
/** Weighs debt-to-income differently: agrees with the champion exactly where debt-to-income is 0, nowhere else. */
const DEBT_BLIND = { ...CHAMPION, coefficients: [-0.00002, 1.5] };

const WINDOW_MS = 1000;
const ROUTES_TTL_MS = 200;
const CANARY_SHARE = 0.25;

const oneRow = (income: number, debtToIncome: number, id?: string): InferenceRequest => ({
  ...(id ? { id } : {}),
  inputs: [
    { name: 'income', shape: [1], datatype: 'FP64', data: [income] },
    { name: 'debt_to_income', shape: [1], datatype: 'FP64', data: [debtToIncome] },
  ],
});

describe('rollouts on real traffic through the gateway', () => {
  let runtime: TestRuntime;
  let proxy: FaultProxy;
  let proxied: Runtimes;
  let database: TestDatabase;
  let client: Client;
  let worker: RunningWorker;
  let lifecycles: Lifecycles;
  let api: TestApi;
  let base: string;
  let scorer: string;
  let taskQueue: string;
  const erin: Principal = { id: 'erin', roles: ['engineer'] };

  beforeAll(async () => {
    runtime = await startTestRuntime();
    proxy = await startFaultProxy(runtime.url);
    // Workers and the gateway reach the runtime through the proxy; the test checks the runtime directly.
    const env = JSON.stringify({ default: { kind: 'builtin', url: proxy.url, repository: runtime.repository } });
    proxied = createRuntimes(parseRuntimeTargets({ STEWARD_RUNTIMES: env }), { stage: createArtifactStager(testReadSettings()) });
    taskQueue = uniqueTaskQueue('rollouts');
    let bundle: { code: string };
    [bundle, database, client] = await Promise.all([bundleWorkflows(join(process.cwd(), 'test', 'fixtures', 'workflows', 'rollouts.ts')), createTestDatabase(), connectTestClient()]);
    worker = await startTestWorker({ database, taskQueue, workflowBundle: bundle, runtimes: proxied });
    lifecycles = new Lifecycles(client, taskQueue, undefined, rolloutTemplates);
    api = await startTestApi({
      client,
      database,
      taskQueue,
      gateway: {
        windowMs: WINDOW_MS,
        routesTtlMs: ROUTES_TTL_MS,
        random: seededRandom(12),
        runtimeFor: (target) => (target === 'default' ? proxied.forTarget('default') : undefined),
      },
    });
    base = api.baseUrl;
    scorer = await createApiToken(database.db, 'scoring-service', ['scorer']);
  });

  afterAll(async () => {
    if (client) await terminateRunning(client, taskQueue);
    await api?.close();
    await worker?.stop();
    await client?.connection.close();
    await proxied?.close();
    await proxy?.close();
    await runtime?.close();
    await database?.drop();
  });

  const infer = async (model: string, body: InferenceRequest): Promise<{ status: number; body: Partial<InferenceResponse> & { error?: string } }> => {
    const res = await fetch(`${base}/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${scorer}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Partial<InferenceResponse> & { error?: string } };
  };
  const gatewayStatus = async (path: string) => (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${scorer}` } })).status;

  /** A model of its own: the manifest of its version 1.0.0 serving `model`, on target `default`. */
  async function manifestFor(name: string, template: string, model: object): Promise<ModelManifest> {
    const artifact = await writeArtifact('model.json', JSON.stringify(model));
    return manifestSchema.parse(await sampleManifest({ name, template, framework: 'json-linear', artifacts: [{ ...artifact, name: 'model' }], deploymentTarget: 'default' }));
  }

  async function challengerOf(champion: ModelManifest, template: string, model: object): Promise<ModelManifest> {
    const artifact = await writeArtifact('model.json', JSON.stringify(model));
    return { ...champion, version: '1.1.0', template, artifacts: [{ ...artifact, name: 'model' }] };
  }

  /** Registers the champion and waits until it serves (its lifecycle monitors it). */
  async function serveChampion(manifest: ModelManifest): Promise<string> {
    const { workflowId, modelVersionId } = await lifecycles.register(manifest, erin);
    const handle = client.workflow.getHandle(workflowId);
    await eventually('the champion in production', async () => ((await handle.query(statusQuery)).stage === 'monitor' ? true : undefined), { timeoutMs: 60_000 });
    return modelVersionId;
  }

  const deploymentsOf = (modelVersionId: string) =>
    database.db.selectFrom('deployments').selectAll().where('model_version_id', '=', modelVersionId).orderBy('from_time').execute();
  const historyOf = async (workflowId: string) => (await lifecycleRunHistories(client, workflowId)).map((r) => r.history);

  /**
   * Callers in `lanes` parallel loops, each sending its next request as soon as the last one is answered,
   * until `stop` says so. Every answer's status and version is counted.
   */
  async function drive(model: string, stop: () => boolean, lanes = 4) {
    const answers: { status: number; version: string | null | undefined }[] = [];
    let n = 0;
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (!stop()) {
          const i = n++;
          const r = await infer(model, oneRow(20_000 + (i % 50) * 1_000, (i % 7) / 10));
          answers.push({ status: r.status, version: r.body.model_version });
        }
      }),
    );
    return answers;
  }

  it('rolls a canary back on its own when it errors on live traffic: each step and its reason recorded, callers saw at most the canary share of errors', async () => {
    const champion = await manifestFor('canary-rollback', 'serve', CHAMPION);
    const championId = await serveChampion(champion);
    const challenger = await challengerOf(champion, 'canary-quarter', CHAMPION);
    const challengerId = `${challenger.name}@1.1.0`;
    // The challenger crashes on every inference request; its ready checks and loads go through.
    const faults = failingInference(runtimeModelName(challengerId), 1);
    proxy.intercept = faults;

    const { workflowId } = await lifecycles.register(challenger, erin);
    const handle = client.workflow.getHandle(workflowId);
    await eventually('the canary phase', async () => ((await handle.query(statusQuery)).phase?.name === 'canary' ? true : undefined), { timeoutMs: 60_000 });

    let result: LifecycleResult | null = null;
    const ended = handle.result().then((r: LifecycleResult) => (result = r));
    const phaseStarted = Date.now();
    const answers = await drive(challenger.name, () => result !== null || Date.now() - phaseStarted > 60_000);
    await ended;
    const rolledBackIn = Date.now() - phaseStarted;

    // The lifecycle rolled back on its own, well before the phase's two-minute hold.
    expect(result).toMatchObject({ modelVersionId: challengerId, endedBy: 'rolled-back', reason: 'canary: error rate 1 > 0.05' });
    expect(rolledBackIn).toBeLessThan(30_000);

    // Callers: the canary took its share of the traffic and failed all of it; nobody else failed.
    const errors = answers.filter((a) => a.status !== 200).length;
    const margin = 3 * Math.sqrt((CANARY_SHARE * (1 - CANARY_SHARE)) / answers.length) + 0.01;
    console.info(`canary rollback: ${answers.length} requests in ${rolledBackIn} ms, ${errors} errors (${((100 * errors) / answers.length).toFixed(1)}%), statuses`, countBy(answers.map((a) => a.status)));
    expect(answers.length).toBeGreaterThan(20);
    expect(errors).toBeGreaterThan(0);
    expect(errors / answers.length).toBeLessThanOrEqual(CANARY_SHARE + margin);
    // A crashing canary is the model's error (503), never blamed on the caller; every success is the champion's.
    expect(answers.every((a) => a.status === 200 || a.status === 503)).toBe(true);
    expect(answers.filter((a) => a.status === 200).every((a) => a.version === '1.0.0')).toBe(true);
    expect(faults.counts.failed).toBe(faults.counts.seen);

    // History: the phase entered with its share, the gateway's window breached on its error rate, the phase failed.
    const transitions = (await historyOf(workflowId)).flatMap((h) => stageTransitionsIn(h)).filter((t) => t.stage === 'deploy' || t.stage === 'retire');
    expect(transitions.map((t) => `${t.stage}/${t.step ?? ''}:${t.outcome}`)).toEqual(['deploy/canary:entered', 'deploy/observation:breached', 'deploy/canary:failed', 'retire/:completed']);
    const canaryDeployment = `${workflowId}/deploy/canary`;
    expect(transitions[0]!.detail).toMatchObject({ deploymentId: canaryDeployment, strategy: 'canary', trafficShare: CANARY_SHARE });
    const breach = transitions[1]!;
    expect(isWindowJudged(breach)).toBe(true);
    expect(breach.detail).toMatchObject({ phase: 'canary', window: { reportedBy: 'gateway', id: expect.stringMatching(new RegExp(`^gw:${escape(canaryDeployment)}:`)) }, errorRate: 1, breaches: ['error rate 1 > 0.05'] });
    const { requests, errors: windowErrors } = breach.detail as { requests: number; errors: number };
    expect(requests).toBeGreaterThan(0);
    expect(windowErrors).toBe(requests);
    expect(transitions[2]!.detail).toEqual({ reason: 'monitor policy breached', breaches: ['error rate 1 > 0.05'] });

    // The catalog: the canary row ended with the reason; the champion's row is live and the only one.
    expect((await deploymentsOf(challengerId)).map((d) => [d.strategy, d.traffic_share, d.end_reason])).toEqual([['canary', CANARY_SHARE, 'rolled back: error rate 1 > 0.05']]);
    const live = await database.db.selectFrom('deployments').select(['model_version_id', 'strategy']).where('model_name', '=', champion.name).where('to_time', 'is', null).execute();
    expect(live).toEqual([{ model_version_id: championId, strategy: 'replace' }]);

    // The runtime: the challenger unloaded, the champion still loaded.
    const direct = runtime.runtimes.forTarget('default');
    const index = await direct.index();
    expect(index.find((e) => e.name === runtimeModelName(challengerId))?.state).not.toBe('READY');
    expect(index.filter((e) => e.name === runtimeModelName(championId))).toMatchObject([{ state: 'READY' }]);
    expect(await direct.ready(runtimeModelName(challengerId))).toBe(false);

    // The champion keeps serving every caller once the routing table has caught up (within two TTLs).
    await eventually('the canary out of the split', async () => ((await infer(challenger.name, oneRow(50_000, 0.2))).body.model_version === '1.0.0' ? true : undefined));
    const after = await Promise.all(Array.from({ length: 40 }, (_, i) => infer(challenger.name, oneRow(30_000 + i * 1000, 0.3))));
    expect(after.map((a) => [a.status, a.body.model_version])).toEqual(after.map(() => [200, '1.0.0']));
    proxy.intercept = null;
  });

  it('mirrors live traffic to a shadow: callers only get the champion\'s answers, and the lifecycle records how often the shadow agreed', async () => {
    const champion = await manifestFor('shadowed', 'serve', CHAMPION);
    const championId = await serveChampion(champion);
    const challenger = await challengerOf(champion, 'shadow-long', DEBT_BLIND);
    const challengerId = `${challenger.name}@1.1.0`;
    const { workflowId } = await lifecycles.register(challenger, erin);
    const handle = client.workflow.getHandle(workflowId);
    await eventually('the shadow phase', async () => ((await handle.query(statusQuery)).phase?.name === 'shadow' ? true : undefined), { timeoutMs: 60_000 });
    // Once the gateway's routing table holds the shadow (it answers for its pinned version), every request is mirrored.
    await eventually('the shadow routed', async () => ((await gatewayStatus(`/v2/models/${challenger.name}/versions/1.1.0/ready`)) === 200 ? true : undefined));

    // Inputs where the two versions agree (no debt) and where they do not; what each says, asked directly.
    const inputs = Array.from({ length: 40 }, (_, i) => oneRow(18_000 + i * 2_500, i % 5 < 2 ? 0 : 0.1 + (i % 5) * 0.12));
    const direct = runtime.runtimes.forTarget('default');
    const championSays = await Promise.all(inputs.map((r) => direct.infer(runtimeModelName(championId), r)));
    const shadowSays = await Promise.all(inputs.map((r) => direct.infer(runtimeModelName(challengerId), r)));
    const agreeing = inputs.filter((_, i) => isDeepStrictEqual(championSays[i]!.outputs, shadowSays[i]!.outputs)).length;
    expect(agreeing).toBe(16);
    const expected = agreeing / inputs.length;

    // Callers get the champion's version and its exact outputs, never the shadow's.
    const answers = [];
    for (const [i, request] of inputs.entries()) answers.push(await infer(challenger.name, { ...request, id: `shadowed-${i}` }));
    for (const [i, a] of answers.entries()) {
      expect(a.status).toBe(200);
      expect(a.body).toMatchObject({ model_name: challenger.name, model_version: '1.0.0', id: `shadowed-${i}` });
      expect(a.body.outputs).toEqual(championSays[i]!.outputs);
    }

    // The shadow's windows reach its lifecycle: each comparison counted once, agreement as computed directly.
    const shadowDeployment = `${workflowId}/deploy/shadow`;
    const shadowWindows = async () =>
      (await historyOf(workflowId)).flatMap((h) => signalsIn<Observation>(h, 'observation')).filter((o) => o.id.startsWith(`gw:${shadowDeployment}:`));
    const windows = await eventually(
      'every comparison in a window the lifecycle received',
      async () => {
        const seen = await shadowWindows();
        return seen.reduce((n, o) => n + (o.shadow?.compared ?? 0), 0) >= inputs.length ? seen : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const compared = windows.reduce((n, o) => n + o.shadow!.compared, 0);
    const agreed = windows.reduce((n, o) => n + o.shadow!.agreed, 0);
    console.info(`shadow: ${windows.length} windows, ${agreed}/${compared} agreed (expected ${agreeing}/${inputs.length})`);
    expect(compared).toBe(inputs.length);
    expect(agreed).toBe(agreeing);
    expect(agreed / compared).toBe(expected);
    expect(expected).toBeGreaterThan(0);
    expect(expected).toBeLessThan(1);
    for (const o of windows) {
      expect(o.reportedBy).toBe('gateway');
      expect(o.errors).toBe(0);
      expect(o.kpis.shadow_agreement).toBe(o.shadow!.agreed / o.shadow!.compared);
      expect(o.shadow!.championP50Ms).toBeGreaterThan(0);
    }
    // Each window was judged in the shadow phase, the agreement among its KPIs.
    const judged = await eventually('the shadow\'s windows judged', async () => {
      const all = (await historyOf(workflowId)).flatMap((h) => stageTransitionsIn(h)).filter(isWindowJudged).filter((t) => t.detail.window.id.startsWith(`gw:${shadowDeployment}:`));
      return all.length === windows.length ? all : undefined;
    });
    expect(judged.map((t) => [t.outcome, t.detail.phase, t.detail.kpis.shadow_agreement])).toEqual(
      windows.map((o) => ['passed', 'shadow', o.kpis.shadow_agreement]),
    );
    // Still shadowing: nothing rolled it back or promoted it.
    expect((await handle.query(statusQuery)).phase?.name).toBe('shadow');
    expect((await deploymentsOf(challengerId)).map((d) => [d.strategy, d.traffic_share, d.to_time])).toEqual([['shadow', 0, null]]);
  });
});

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function countBy<T extends string | number>(values: readonly T[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[String(v)] = (counts[String(v)] ?? 0) + 1;
  return counts;
}
