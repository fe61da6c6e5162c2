import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../api/gateway/router.js';
import { Lifecycles } from '../../api/lifecycles.js';
import { createApiToken } from '../../api/tokens.js';
import { manifestSchema, type ModelManifest } from '../../core/manifest.js';
import { lifecycleWorkflowId, modelVersionId } from '../../core/model-id.js';
import type { Principal } from '../../core/principal.js';
import { runtimeModelName } from '../../runtimes/runtime.js';
import { bundleWorkflows } from '../../workers/bundle.js';
import { retireSignal } from '../../workflows/messages.js';
import { canaryChallengeTemplates } from '../fixtures/workflows/canary-challenge.js';
import { writeArtifact } from '../harness/artifacts.js';
import { creditInferBody, creditRows, seededRandom as seededRows } from '../harness/datasets.js';
import { connectTestClient, createTestDatabase, eventually, startTestApi, startTestWorker, terminateRunning, uniqueTaskQueue, type RunningWorker, type TestApi, type TestDatabase } from '../harness/index.js';
import { sampleManifest } from '../harness/manifests.js';
import { sharedTestRuntime } from '../harness/runtimes.js';

/**
 * Champion against challenger in a canary on the real dev server, PostgreSQL, the built-in runtime and the scoring
 * gateway: a champion serves, a challenger registered as the next version takes half the traffic, callers label
 * some of the answers they got (each to the version that answered), and the promotion judges the canary on each
 * side's own labelled requests of the phase: the test computes both accuracies from the answers it received and
 * the labels it sent, and checks the recorded verdict and what it did (promotion, or retirement with the reason).
 */
const ROWS = 4;
const CANARY_REQUESTS = 30;
const THRESHOLD = 0.5;
const erin: Principal = { id: 'erin', roles: ['engineer'] };

/** Default risk rises with debt-to-income and falls with income. */
const GOOD = { kind: 'linear', features: ['income', 'debt_to_income'], coefficients: [-0.00002, 6.5], intercept: -1.2, link: 'logistic', threshold: THRESHOLD };
/** The same scores the wrong way round: it predicts the opposite class of GOOD on every row. */
const INVERTED = { ...GOOD, coefficients: [0.00002, -6.5], intercept: 1.2 };

type Row = { income: number; debt_to_income: number };
/** The world the labels come from: GOOD's class, one row in ten flipped (seeded, so a run's labels are fixed). */
function truth(rows: readonly Row[], seed: number): number[] {
  const random = seededRows(seed);
  return rows.map((r) => {
    const y = -1.2 - 0.00002 * r.income + 6.5 * r.debt_to_income >= 0 ? 1 : 0;
    return random() < 0.1 ? 1 - y : y;
  });
}

interface Answer {
  readonly requestId: string;
  readonly rows: readonly Row[];
  readonly answeredBy: string;
  readonly probability: readonly number[];
}

describe('champion against challenger in a canary on live traffic', () => {
  let database: TestDatabase;
  let client: Client;
  let api: TestApi;
  let worker: RunningWorker;
  let lifecycles: Lifecycles;
  let taskQueue: string;
  let scorer: string;
  let engineer: string;

  beforeAll(async () => {
    taskQueue = uniqueTaskQueue('canary-challenge');
    let code: string;
    [database, client, { code }] = await Promise.all([createTestDatabase(), connectTestClient(), bundleWorkflows(join(process.cwd(), 'test', 'fixtures', 'workflows', 'canary-challenge.ts'))]);
    const runtime = await sharedTestRuntime();
    api = await startTestApi({
      client,
      database,
      taskQueue,
      gateway: {
        // Windows stay open through a test: only the challenge decides.
        windowMs: 600_000,
        maxWindowRequests: 1000,
        routesTtlMs: 200,
        // A fixed split; the expectations are computed from the answers whatever it is.
        random: seededRandom(7),
        runtimeFor: (t) => (t === 'default' ? runtime.runtimes.forTarget('default') : undefined),
      },
    });
    worker = await startTestWorker({ database, taskQueue, workflowBundle: { code } });
    lifecycles = new Lifecycles(client, taskQueue, undefined, canaryChallengeTemplates);
    [scorer, engineer] = await Promise.all([createApiToken(database.db, 'scoring-service', ['scorer']), createApiToken(database.db, 'erin', ['engineer'])]);
  }, 600_000);

  afterAll(async () => {
    await terminateRunning(client, taskQueue).catch(() => undefined);
    await api?.close();
    await worker?.stop();
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
  const production = async (name: string) =>
    ((await api.call('GET', `/production?model=${name}&at=${encodeURIComponent(new Date().toISOString())}`, { token: engineer })).body.deployments as { modelVersionId: string; strategy: string }[]).map(
      (d) => `${d.modelVersionId}:${d.strategy}`,
    );

  /** Until the gateway's routes (cached for 200 ms) no longer have this version: from then on it answers nothing. */
  const unrouted = (name: string, version: string) =>
    eventually(`${name} ${version} out of the routes`, async () => ((await api.call('GET', `/v2/models/${name}/versions/${version}`, { token: scorer })).status === 404 ? true : undefined), {
      timeoutMs: 60_000,
    });

  async function manifestOf(name: string, template: string, model: object, version: string, exactName?: string): Promise<ModelManifest> {
    const artifact = await writeArtifact('model.json', JSON.stringify(model));
    return manifestSchema.parse(
      await sampleManifest({ name, ...(exactName ? { exactName } : {}), version, template, artifacts: [{ ...artifact, name: 'model' }], protectedAttributes: [], deploymentTarget: 'default' }),
    );
  }

  /** Requests of four rows each through the gateway: each one's id, rows, the version that answered and its scores. */
  async function score(m: ModelManifest, requests: number, seed: number, tag: string): Promise<Answer[]> {
    const rows = creditRows({ rows: requests * ROWS, seed });
    const answers: Answer[] = [];
    for (let i = 0; i < requests; i++) {
      const batch = rows.slice(i * ROWS, (i + 1) * ROWS);
      const requestId = `${tag}-${i}`;
      const res = await api.call('POST', `/v2/models/${m.name}/infer`, {
        token: scorer,
        body: creditInferBody(requestId, batch),
      });
      expect(res.status).toBe(200);
      const probability = (res.body.outputs as { name: string; data: number[] }[]).find((o) => o.name === 'probability')!.data;
      expect(probability).toHaveLength(ROWS);
      answers.push({ requestId, rows: batch, answeredBy: String(res.body.model_version), probability });
    }
    return answers;
  }

  /** Waits until the gateway has logged every answer, then posts each label to the version that answered it. */
  async function label(m: ModelManifest, answers: readonly Answer[], seed: number): Promise<Map<string, number[]>> {
    const ids = answers.map((a) => a.requestId);
    await eventually('the answers logged', async () => ((await database.db.selectFrom('gateway_requests').select('request_id').where('request_id', 'in', ids).execute()).length >= ids.length ? true : undefined), {
      timeoutMs: 60_000,
    });
    const labels = new Map(answers.map((a, i) => [a.requestId, truth(a.rows, seed * 100 + i)]));
    for (const version of new Set(answers.map((a) => a.answeredBy))) {
      const mine = answers.filter((a) => a.answeredBy === version).map((a) => ({ requestId: a.requestId, label: labels.get(a.requestId)! }));
      const posted = await api.call('POST', `/models/${id({ ...m, version })}/labels`, { token: scorer, body: { labels: mine } });
      expect(posted).toMatchObject({ status: 202, body: { received: mine.length, unmatchedCount: 0 } });
    }
    return labels;
  }

  /** What the challenge should find on one side: its requests in the phase, its labelled rows and their accuracy. */
  function expected(version: string, answers: readonly Answer[], labels: ReadonlyMap<string, number[]>) {
    const mine = answers.filter((a) => a.answeredBy === version);
    let labelled = 0;
    let correct = 0;
    for (const a of mine) {
      const ys = labels.get(a.requestId);
      if (!ys) continue;
      ys.forEach((y, i) => {
        labelled++;
        if ((a.probability[i]! >= THRESHOLD ? 1 : 0) === y) correct++;
      });
    }
    return { requests: mine.length, labelled, value: correct / labelled };
  }

  /**
   * A champion serving `championModel`, a labelled request it answered before the canary (outside the phase's span),
   * then a challenger serving `challengerModel` in its canary: thirty requests split between them, four in five
   * labelled, and a promotion that judges the phase. Returns what was recorded and what the test computed.
   */
  async function canaryChallenge(name: string, championModel: object, challengerModel: object, seed: number) {
    const champion = await manifestOf(name, 'serve', championModel, '1.0.0');
    await lifecycles.register(champion, erin);
    await eventually('the champion routed', async () => ((await api.call('GET', `/v2/models/${champion.name}/versions/1.0.0`, { token: scorer })).status === 200 ? true : undefined), {
      timeoutMs: 60_000,
    });
    // Before the phase: the champion's labelled answers here are not the canary's comparison.
    const before = await score(champion, 3, seed, `${name}-before`);
    await label(champion, before, seed + 1);

    const challenger = await manifestOf(name, 'canary-challenged', challengerModel, '1.1.0', champion.name);
    await lifecycles.register(challenger, erin);
    expect((await transition(id(challenger), 'deploy', 'canary', 'entered')).detail).toMatchObject({ strategy: 'canary', trafficShare: 0.5 });
    await eventually('the canary routed', async () => ((await api.call('GET', `/v2/models/${champion.name}/versions/1.1.0`, { token: scorer })).status === 200 ? true : undefined), {
      timeoutMs: 60_000,
    });

    const answers = await score(champion, CANARY_REQUESTS, seed + 2, `${name}-canary`);
    // Both sides served (the split is seeded, so this is not luck run to run).
    expect(new Set(answers.map((a) => a.answeredBy))).toEqual(new Set(['1.0.0', '1.1.0']));
    const labelledAnswers = answers.filter((_, i) => i % 5 !== 4);
    const labels = await label(champion, labelledAnswers, seed + 3);

    const promoted = await api.call('POST', `/models/${id(challenger)}/promote`, { token: engineer, body: { reason: 'traffic and labels are in' } });
    expect(promoted.status).toBe(202);
    const judged = await eventually(
      'the challenge judged',
      async () => (await transitions(id(challenger))).find((t) => t.stage === 'deploy' && t.step === 'challenge' && (t.outcome === 'passed' || t.outcome === 'failed')),
      { timeoutMs: 240_000, intervalMs: 250 },
    );
    const mine = expected('1.1.0', answers, labels);
    const theirs = expected('1.0.0', answers, labels);
    console.info(`${name}: challenger ${mine.requests} requests, ${mine.labelled} labelled rows, accuracy ${mine.value}; champion ${theirs.requests}, ${theirs.labelled}, ${theirs.value}`);
    return {
      champion,
      challenger,
      judged,
      mine,
      theirs,
    };
  }

  const round = (x: number) => Math.round(x * 10_000) / 10_000;
  type Side = { modelVersionId: string; value: number; labelled: number; requests: number };
  type Detail = { outcome: string; mode: string; metric: string; margin: number; minLabelled: number; improvement: number; reason: string; challenger: Side; champion: Side };

  it('a challenger better by the margin on its own labelled requests wins its canary and takes all the traffic; each side measured on what it served in the phase', async () => {
    const { champion, challenger, judged, mine, theirs } = await canaryChallenge('canary-win', INVERTED, GOOD, 11);
    expect(judged.outcome).toBe('passed');
    const detail = judged.detail as Detail;
    expect(detail).toMatchObject({
      outcome: 'won',
      mode: 'canary',
      metric: 'accuracy',
      margin: 0.1,
      minLabelled: 8,
      challenger: { modelVersionId: id(challenger), labelled: mine.labelled, requests: mine.requests },
      champion: { modelVersionId: id(champion), labelled: theirs.labelled, requests: theirs.requests },
    });
    expect(detail.challenger.value).toBeCloseTo(mine.value, 10);
    expect(detail.champion.value).toBeCloseTo(theirs.value, 10);
    expect(detail.improvement).toBeCloseTo(mine.value - theirs.value, 10);
    expect(mine.value - theirs.value).toBeGreaterThanOrEqual(0.1);
    expect(detail.reason).toBe(
      `challenger won on accuracy ${round(mine.value)} against the champion's ${round(theirs.value)} (margin: higher by at least 0.1; ${mine.labelled} and ${theirs.labelled} labelled rows)`,
    );

    // Promoted: the challenger replaces the champion, which is unloaded; every answer is the challenger's.
    await transition(id(challenger), 'deploy', null, 'passed');
    expect(await production(champion.name)).toEqual([`${id(challenger)}:replace`]);
    await unrouted(champion.name, '1.0.0');
    const after = await score(champion, 5, 12, 'canary-win-after');
    expect(after.map((a) => a.answeredBy)).toEqual(Array(5).fill('1.1.0'));
    expect(await serving(id(challenger))).toBe(true);
    await client.workflow.getHandle(lifecycleWorkflowId(challenger)).signal(retireSignal, { requestedBy: erin, reason: 'test over' });
  }, 900_000);

  it('a challenger worse on its own labelled requests loses its canary and retires naming the metric, both values and the margin; the champion keeps every request', async () => {
    const { champion, challenger, judged, mine, theirs } = await canaryChallenge('canary-lose', GOOD, INVERTED, 21);
    expect(judged.outcome).toBe('failed');
    const detail = judged.detail as Detail;
    expect(detail).toMatchObject({
      outcome: 'lost',
      mode: 'canary',
      metric: 'accuracy',
      margin: 0.1,
      challenger: { modelVersionId: id(challenger), labelled: mine.labelled, requests: mine.requests },
      champion: { modelVersionId: id(champion), labelled: theirs.labelled, requests: theirs.requests },
    });
    expect(detail.challenger.value).toBeCloseTo(mine.value, 10);
    expect(detail.champion.value).toBeCloseTo(theirs.value, 10);
    expect(mine.value).toBeLessThan(theirs.value);
    const reason = `canary: challenger lost on accuracy ${round(mine.value)} against the champion's ${round(theirs.value)} (needed higher by at least 0.1; ${mine.labelled} and ${theirs.labelled} labelled rows)`;
    expect(await client.workflow.getHandle(lifecycleWorkflowId(challenger)).result()).toEqual({ modelVersionId: id(challenger), endedBy: 'retired', reason });
    expect((await transition(id(challenger), 'retire', null, 'completed')).detail).toMatchObject({ endedBy: 'retired', reason });

    // The champion: still the only deployment, every answer its own; the loser unloaded.
    expect(await serving(id(challenger))).toBe(false);
    expect(await serving(id(champion))).toBe(true);
    expect(await production(champion.name)).toEqual([`${id(champion)}:replace`]);
    await unrouted(champion.name, '1.1.0');
    const after = await score(champion, 5, 22, 'canary-lose-after');
    expect(after.map((a) => a.answeredBy)).toEqual(Array(5).fill('1.0.0'));
    await client.workflow.getHandle(lifecycleWorkflowId(champion)).signal(retireSignal, { requestedBy: erin, reason: 'test over' });
  }, 900_000);
});
