import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Lifecycles } from '../../api/lifecycles.js';
import { createApiToken } from '../../api/tokens.js';
import { manifestSchema, type ModelManifest } from '../../core/manifest.js';
import { lifecycleWorkflowId, modelVersionId } from '../../core/model-id.js';
import type { Principal } from '../../core/principal.js';
import { runtimeModelName } from '../../runtimes/runtime.js';
import { retireSignal, retrainSignal, statusQuery } from '../../workflows/messages.js';
import { bundleWorkflows } from '../../workers/bundle.js';
import { createStewardWorker, type StewardWorker } from '../../workers/worker.js';
import { challengeTemplates } from '../fixtures/workflows/challenge.js';
import { writeArtifact } from '../harness/artifacts.js';
import { creditInferBody, creditRows, seededRandom, writeCsv } from '../harness/datasets.js';
import { connectTestClient, createTestDatabase, eventually, startTestApi, terminateRunning, uniqueTaskQueue, type TestApi, type TestDatabase } from '../harness/index.js';
import { sampleManifest, SAMPLE_MODEL } from '../harness/manifests.js';
import { ensurePythonReference } from '../harness/python-reference.js';
import { testReadSettings, TEST_ROOT } from '../harness/reading.js';
import { sharedTestRuntime } from '../harness/runtimes.js';

/**
 * Champion against challenger on the real dev server, PostgreSQL, the built-in runtime and the scoring gateway:
 * drift in a gateway window retrains the champion with examples/credit-scorer/retrain.py; the new version passes
 * its gates and an approval, answers mirrored traffic in its shadow phase, and the labels sent for those requests
 * decide whether it replaces the champion (ROC AUC 0.02 better) or retires, the champion serving on.
 */
const WINDOW_REQUESTS = 10;
const ROWS = 4;
const erin: Principal = { id: 'erin', roles: ['engineer'] };

/** The world the labels come from: default risk rises with debt-to-income and falls with income. */
const truthLogit = (income: number, dti: number) => -1.0 - 0.00004 * (income - 52_000) + 9 * (dti - 0.32);
function truth(rows: readonly { income: number; debt_to_income: number }[], seed: number): number[] {
  const random = seededRandom(seed);
  return rows.map((r) => (random() < 1 / (1 + Math.exp(-truthLogit(r.income, r.debt_to_income))) ? 1 : 0));
}
/** Training data for the retrain script; `flipped` labels teach it the opposite of the world. */
const trainingRows = (rows: number, seed: number, flipped = false) =>
  creditRows({ rows, seed }).map((r, i, all) => {
    const y = truth(all, seed + 1000)[i]!;
    return { income: r.income, debt_to_income: r.debt_to_income, default: flipped ? 1 - y : y };
  });

describe('champion against challenger on live traffic', () => {
  let database: TestDatabase;
  let client: Client;
  let api: TestApi;
  let lifecycles: Lifecycles;
  let worker: { worker: StewardWorker; running: Promise<void>; connection: NativeConnection };
  let taskQueue: string;
  let scorer: string;
  let engineer: string;
  let approver: string;
  let reference: { uri: string; sha256: string };

  beforeAll(async () => {
    taskQueue = uniqueTaskQueue('challenge');
    let python: string;
    let code: string;
    [{ python }, database, client, { code }] = await Promise.all([
      ensurePythonReference(),
      createTestDatabase(),
      connectTestClient(),
      bundleWorkflows(join(process.cwd(), 'test', 'fixtures', 'workflows', 'challenge.ts')),
    ]);
    const runtime = await sharedTestRuntime();
    const outputDir = await mkdtemp(join(TEST_ROOT, 'steward-challenger-'));
    api = await startTestApi({
      client,
      database,
      taskQueue,
      gateway: { windowMs: 600_000, maxWindowRequests: WINDOW_REQUESTS, runtimeFor: (t) => (t === 'default' ? runtime.runtimes.forTarget('default') : undefined), routesTtlMs: 200 },
    });
    const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    const w = await createStewardWorker({
      connection,
      namespace: 'default',
      taskQueue,
      db: database.db,
      evidence: database.evidence,
      workflowBundle: { code },
      reading: testReadSettings(),
      runtimes: runtime.runtimes,
      training: { outputDir, commands: { python }, callbackBaseUrl: api.baseUrl },
    });
    worker = { worker: w, running: w.run(), connection };
    lifecycles = new Lifecycles(client, taskQueue, undefined, challengeTemplates);
    [scorer, engineer, approver] = await Promise.all([
      createApiToken(database.db, 'scoring-service', ['scorer']),
      createApiToken(database.db, 'erin', ['engineer']),
      createApiToken(database.db, 'ava', ['approver:risk']),
    ]);
    reference = await writeCsv('reference.csv', creditRows({ rows: 400, seed: 1 }).map((r) => ({ income: r.income, debt_to_income: r.debt_to_income })));
  }, 600_000);

  afterAll(async () => {
    await terminateRunning(client, taskQueue).catch(() => undefined);
    worker?.worker.shutdown();
    await worker?.running;
    await worker?.connection.close();
    await api?.close();
    await client?.connection.close();
    await database?.drop();
  });

  const id = (m: ModelManifest) => modelVersionId(m);
  const transitions = (versionId: string) => database.db.selectFrom('stage_transitions').selectAll().where('model_version_id', '=', versionId).orderBy('seq').execute();
  const transition = (versionId: string, stage: string, step: string | null, outcome: string, timeoutMs = 240_000) =>
    eventually(`${versionId} to record ${stage}/${step}:${outcome}`, async () => (await transitions(versionId)).find((t) => t.stage === stage && (t.step === step || (step === null && t.step === stage)) && t.outcome === outcome), {
      timeoutMs,
      intervalMs: 250,
    });
  const serving = async (versionId: string) => (await sharedTestRuntime()).runtimes.forTarget('default').ready(runtimeModelName(versionId)).catch(() => false);
  const production = async (name: string, at: string) =>
    ((await api.call('GET', `/production?model=${name}&at=${encodeURIComponent(at)}`, { token: engineer })).body.deployments as { modelVersionId: string; strategy: string }[]).map(
      (d) => `${d.modelVersionId}:${d.strategy}`,
    );
  const approve = async (versionId: string) => {
    await transition(versionId, 'approval', null, 'entered');
    const res = await api.call('POST', `/models/${versionId}/approvals`, { token: approver, body: { decision: 'approve', comment: 'evidence reviewed' } });
    expect(res.status).toBe(200);
  };
  /** Promotes the phase under way: its hold ends now and the challenge is judged on what came in. */
  const promote = async (versionId: string) => {
    const res = await api.call('POST', `/models/${versionId}/promote`, { token: engineer, body: { reason: 'traffic and labels are in' } });
    expect(res.status).toBe(202);
  };
  /** Requests of four rows each through the gateway; returns each request's id, rows and the version that answered. */
  async function score(m: ModelManifest, requests: number, seed: number, incomeShift: number, tag: string) {
    const rows = creditRows({ rows: requests * ROWS, seed, incomeShift });
    const sent: { requestId: string; rows: typeof rows; answeredBy: string }[] = [];
    for (let i = 0; i < requests; i++) {
      const batch = rows.slice(i * ROWS, (i + 1) * ROWS);
      const requestId = `${tag}-${i}`;
      const res = await api.call('POST', `/v2/models/${m.name}/infer`, {
        token: scorer,
        body: creditInferBody(requestId, batch),
      });
      expect(res.status).toBe(200);
      sent.push({ requestId, rows: batch, answeredBy: String(res.body.model_version) });
    }
    return sent;
  }
  const register = async (name: string, model: object, training: { uri: string; sha256: string }) => {
    const artifact = await writeArtifact('model.json', JSON.stringify(model));
    const m = manifestSchema.parse(
      await sampleManifest({
        name,
        template: 'challenged',
        artifacts: [{ ...artifact, name: 'model' }],
        inputSchema: [
          { name: 'income', type: 'number' },
          { name: 'debt_to_income', type: 'number' },
        ],
        protectedAttributes: [],
        trainingData: [training],
        referenceDataset: reference,
      }),
    );
    await lifecycles.register(m, erin);
    return m;
  };
  /** A first version: approved, its shadow (no champion to beat) promoted, in production. */
  const champion = async (name: string, model: object, training: { uri: string; sha256: string }) => {
    const m = await register(name, model, training);
    await approve(id(m));
    await transition(id(m), 'deploy', 'shadow', 'entered');
    await promote(id(m));
    expect((await transition(id(m), 'deploy', 'challenge', 'passed')).detail).toMatchObject({ outcome: 'uncontested', champion: null });
    await transition(id(m), 'monitor', null, 'passed');
    return m;
  };
  /** The child in its shadow phase, once the gateway routes mirrored traffic to it. */
  const inShadow = async (child: ModelManifest) => {
    await transition(id(child), 'deploy', 'shadow', 'entered');
    await eventually('the shadow routed', async () => ((await api.call('GET', `/v2/models/${child.name}/versions/${child.version}`, { token: scorer })).status === 200 ? true : undefined));
  };
  /** Mirrored traffic, its shadow answers logged, and the truth for every row posted for the champion's answers. */
  const trafficAndLabels = async (parent: ModelManifest, child: ModelManifest, seed: number, tag: string) => {
    const sent = await score(parent, 2 * WINDOW_REQUESTS, seed, 0, tag);
    expect(new Set(sent.map((s) => s.answeredBy))).toEqual(new Set([parent.version]));
    const shadowDeployment = `${lifecycleWorkflowId(child)}/deploy/shadow`;
    await eventually('the shadow’s answers logged', async () => {
      const rows = await database.db.selectFrom('gateway_requests').select('request_id').where('deployment_id', '=', shadowDeployment).execute();
      return rows.length >= sent.length ? true : undefined;
    });
    const labels = sent.map((s, i) => ({ requestId: s.requestId, label: truth(s.rows, seed * 100 + i) }));
    const posted = await api.call('POST', `/models/${id(parent)}/labels`, { token: scorer, body: { labels } });
    expect(posted).toMatchObject({ status: 202, body: { received: sent.length, unmatchedCount: 0 } });
    return sent;
  };

  it('drift retrains the champion; the trained challenger passes its gates and an approval, wins its shadow on labelled traffic and replaces the champion, which retires and is unloaded; production at T is right throughout', async () => {
    const data = await writeCsv('applications.csv', trainingRows(1200, 21));
    // A champion that ranks applicants the wrong way round: income raises its score.
    const poor = { ...SAMPLE_MODEL, coefficients: [0.00004, 0], intercept: -1 };
    const parent = await champion('challenged-win', poor, data);
    const parentId = id(parent);
    const beforeDrift = new Date().toISOString();
    expect(await serving(parentId)).toBe(true);

    // One drifted window: a critical drift alert retrains through the command runner.
    await score(parent, WINDOW_REQUESTS, 11, 3, 'drift');
    const alert = await transition(parentId, 'monitor', 'alert', 'raised');
    expect(alert.detail).toMatchObject({ severity: 'critical', retrain: true });
    const trained = await transition(parentId, 'retrain', 'training', 'passed');
    expect((trained.detail as { logDigest: string }).logDigest).toMatch(/^[0-9a-f]{64}$/);
    const child = { ...parent, version: '1.1.0' };
    const childId = id(child);
    const retrain = await transition(parentId, 'retrain', null, 'passed');
    expect(retrain.detail).toMatchObject({ successor: lifecycleWorkflowId(child), trigger: { kind: 'alert' } });

    // Gates, then a person's approval.
    await approve(childId);
    expect((await transitions(childId)).map((t) => `${t.stage}${t.step && t.step !== t.stage ? `/${t.step}` : ''}:${t.outcome}`).slice(0, 5)).toEqual([
      'register:passed',
      'test:passed',
      'scan:passed',
      'approval:entered',
      'approval:passed',
    ]);
    await inShadow(child);
    const duringShadow = new Date().toISOString();
    await trafficAndLabels(parent, child, 31, 'win');
    await promote(childId);

    const judged = await transition(childId, 'deploy', 'challenge', 'passed');
    const detail = judged.detail as { outcome: string; challenger: { value: number; labelled: number }; champion: { modelVersionId: string; value: number; labelled: number }; margin: number; reason: string };
    expect(detail).toMatchObject({ outcome: 'won', mode: 'shadow', metric: 'rocAuc', margin: 0.02, minLabelled: 40, champion: { modelVersionId: parentId } });
    // The same rows on both sides: every labelled row of the twenty mirrored requests.
    expect(detail.challenger.labelled).toBe(2 * WINDOW_REQUESTS * ROWS);
    expect(detail.champion.labelled).toBe(detail.challenger.labelled);
    expect(detail.challenger.value - detail.champion.value).toBeGreaterThanOrEqual(0.02);
    expect(detail.reason).toMatch(/^challenger won on rocAuc /);
    await transition(childId, 'deploy', null, 'passed');
    const afterSwitch = new Date().toISOString();

    // The parent is superseded, retired and unloaded; the child serves.
    expect(await client.workflow.getHandle(lifecycleWorkflowId(parent)).result()).toMatchObject({ endedBy: 'superseded' });
    expect(await serving(parentId)).toBe(false);
    expect(await serving(childId)).toBe(true);
    const [answer] = await score(parent, 1, 41, 0, 'after');
    expect(answer!.answeredBy).toBe('1.1.0');

    // Production at T: the champion before the drift and during the shadow (a shadow is not production), the challenger after.
    expect(await production(parent.name, beforeDrift)).toEqual([`${parentId}:replace`]);
    expect(await production(parent.name, duringShadow)).toEqual([`${parentId}:replace`]);
    expect(await production(parent.name, afterSwitch)).toEqual([`${childId}:replace`]);
    await client.workflow.getHandle(lifecycleWorkflowId(child)).signal(retireSignal, { requestedBy: erin, reason: 'test over' });
  }, 900_000);

  it('a challenger that loses retires naming the metric, both values and the margin; the champion keeps serving, and the catalog’s lineage shows both', async () => {
    // The champion is good; the retrain learns from labels flipped the wrong way round.
    const data = await writeCsv('applications-flipped.csv', trainingRows(1200, 22, true));
    const parent = await champion('challenged-lose', SAMPLE_MODEL, data);
    const parentId = id(parent);
    await client.workflow.getHandle(lifecycleWorkflowId(parent)).signal(retrainSignal, { requestedBy: erin, reason: 'quarterly retrain' });
    const child = { ...parent, version: '1.1.0' };
    const childId = id(child);
    await approve(childId);
    await inShadow(child);
    await trafficAndLabels(parent, child, 51, 'lose');
    await promote(childId);

    const judged = await transition(childId, 'deploy', 'challenge', 'failed');
    const detail = judged.detail as { outcome: string; challenger: { value: number }; champion: { value: number }; reason: string };
    expect(detail).toMatchObject({ outcome: 'lost', margin: 0.02, champion: { modelVersionId: parentId } });
    expect(detail.challenger.value).toBeLessThan(detail.champion.value);
    const round = (x: number) => Math.round(x * 10_000) / 10_000;
    const reason = `shadow: challenger lost on rocAuc ${round(detail.challenger.value)} against the champion's ${round(detail.champion.value)} (needed higher by at least 0.02; ${2 * WINDOW_REQUESTS * ROWS} labelled rows both answered)`;
    expect(await client.workflow.getHandle(lifecycleWorkflowId(child)).result()).toEqual({ modelVersionId: childId, endedBy: 'retired', reason });
    expect((await transition(childId, 'retire', null, 'completed')).detail).toMatchObject({ endedBy: 'retired', reason });

    // The champion: still serving, every answer its own, told why, back to monitoring.
    expect(await serving(childId)).toBe(false);
    expect(await serving(parentId)).toBe(true);
    const answers = await score(parent, 5, 61, 0, 'kept');
    expect(answers.map((a) => a.answeredBy)).toEqual(Array(5).fill('1.0.0'));
    expect((await transition(parentId, 'monitor', 'successor', 'failed')).detail).toEqual({ reason, successor: lifecycleWorkflowId(child) });
    expect(await client.workflow.getHandle(lifecycleWorkflowId(parent)).query(statusQuery)).toMatchObject({ stage: 'monitor', successor: null });
    expect(await production(parent.name, new Date().toISOString())).toEqual([`${parentId}:replace`]);

    // Lineage: both versions, the loser retired from its parent.
    const versions = await database.db.selectFrom('model_versions').select(['id', 'parent_id', 'stage']).where('name', '=', parent.name).orderBy('id').execute();
    expect(versions).toEqual([
      { id: parentId, parent_id: null, stage: 'monitor' },
      { id: childId, parent_id: parentId, stage: 'retire' },
    ]);
    const edge = await database.db.selectFrom('lineage_edges').selectAll().where('to_version_id', '=', childId).where('kind', '=', 'retrained_from').executeTakeFirstOrThrow();
    expect(edge.from_ref).toBe(parentId);
    await client.workflow.getHandle(lifecycleWorkflowId(parent)).signal(retireSignal, { requestedBy: erin, reason: 'test over' });
  }, 900_000);
});
