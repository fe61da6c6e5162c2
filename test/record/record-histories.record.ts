import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { Lifecycles } from '../../api/lifecycles.js';
import { manifestSchema, type ManifestInput } from '../../core/manifest.js';
import { lifecycleWorkflowId } from '../../core/model-id.js';
import { defaultApprovalPolicy, defaultPolicy, type ApprovalPolicy, type LifecyclePolicy } from '../../core/policy.js';
import type { Principal } from '../../core/principal.js';
import { approvalSignal, observationSignal, promoteSignal, retireSignal, retrainSignal, statusQuery, type Observation } from '../../workflows/messages.js';
import { creditRows, writeCsv } from '../harness/datasets.js';
import { sampleManifest } from '../harness/manifests.js';
import { stageTransitionsIn } from '../harness/history.js';
import { lifecycleRunHistories } from '../../audit/run-histories.js';
import {
  connectTestClient,
  createTestDatabase,
  eventually,
  startTestWorker,
  uniqueTaskQueue,
  type RunningWorker,
  type TestDatabase,
} from '../harness/index.js';

/**
 * `npm run record:histories`: runs real lifecycles on the dev server and saves every run's history to
 * test/fixtures/histories/, where the replay test guards them against non-replay-safe changes.
 * Re-record only on purpose: old fixtures are exactly what running lifecycles look like. Files of earlier
 * code generations (`v0-*` before approval policies, `v1-*` before templates, `v2-*` before drift, `v3-*` before
 * separation of duties counted authenticated teams and every request was answered) are never touched; they prove
 * old histories still replay.
 */
const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'histories');
const EARLIER_GENERATION = /^v\d+-/;
const policy: LifecyclePolicy = { ...defaultPolicy, test: { minMetrics: { auc: 0.8 } }, monitor: { intervalMs: 100, cyclesPerRun: 2 } };
const gatedPolicy = (approval: Partial<ApprovalPolicy>): LifecyclePolicy => ({ ...policy, approval: { ...defaultApprovalPolicy, ...approval } });
const rita: Principal = { id: 'rita', roles: ['approver:risk'], teams: ['model-risk'] };
const cleo: Principal = { id: 'cleo', roles: ['approver:cro'], teams: ['executive'] };
const erin: Principal = { id: 'erin', roles: ['engineer'] };
const ava: Principal = { id: 'ava', roles: ['approver:risk'] };
const bo: Principal = { id: 'bo', roles: ['approver:business'], teams: ['lending'] };

let client: Client;
let database: TestDatabase;
let worker: RunningWorker;
let lifecycles: Lifecycles;
let taskQueue: string;

beforeAll(async () => {
  taskQueue = uniqueTaskQueue('record');
  database = await createTestDatabase();
  client = await connectTestClient();
  worker = await startTestWorker({ database, taskQueue });
  lifecycles = new Lifecycles(client, taskQueue, policy);
  await mkdir(FIXTURES, { recursive: true });
  for (const file of await readdir(FIXTURES)) if (!EARLIER_GENERATION.test(file)) await rm(join(FIXTURES, file));
});

afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
  await database?.drop();
});

async function manifest(name: string, overrides: Partial<ManifestInput> = {}) {
  return manifestSchema.parse(await sampleManifest({ exactName: name, metrics: { auc: 0.9 }, ...overrides }));
}

async function save(scenario: string, workflowId: string): Promise<void> {
  const runs = await lifecycleRunHistories(client, workflowId);
  for (const [i, run] of runs.entries()) {
    await writeFile(join(FIXTURES, `${scenario}.run${i + 1}.json`), `${JSON.stringify(JSON.parse(historyToJSON(run.history)), null, 1)}\n`);
  }
}

const approve = (by: Principal, attemptId: string, decision: 'approve' | 'reject' = 'approve', comment = '') => ({
  attemptId,
  decision,
  comment,
  principal: by,
});

async function atStage(workflowId: string, stage: string) {
  await eventually(`${workflowId} at ${stage}`, async () => {
    const status = await client.workflow.getHandle(workflowId).query(statusQuery);
    return status.stage === stage ? status : undefined;
  });
}

it('records an approved lifecycle that continues-as-new, retrains and is superseded', async () => {
  const m = await manifest('recorded-credit');
  const { workflowId } = await lifecycles.register(m, erin);
  await atStage(workflowId, 'approval');
  const handle = client.workflow.getHandle(workflowId);
  await handle.signal(approvalSignal, approve(erin, 'a1'));
  await handle.signal(approvalSignal, approve(ava, 'a2', 'approve', 'holdout AUC 0.9'));
  await eventually('two continue-as-new runs', async () => ((await handle.query(statusQuery)).run >= 3 ? true : undefined));
  await handle.signal(retrainSignal, { requestedBy: erin, reason: 'drift on income', metrics: { auc: 0.92 } });
  const childId = lifecycleWorkflowId({ name: m.name, version: '1.1.0' });
  await atStage(childId, 'approval');
  await client.workflow.getHandle(childId).signal(approvalSignal, approve(ava, 'c1'));
  await handle.result();
  await client.workflow.getHandle(childId).signal(retireSignal, { requestedBy: erin, reason: 'end of recording' });
  await client.workflow.getHandle(childId).result();
  await save('approved-retrained', workflowId);
  await save('retrained-child', childId);
});

it('records a rejected lifecycle', async () => {
  const { workflowId } = await lifecycles.register(await manifest('recorded-rejected'), erin);
  await atStage(workflowId, 'approval');
  await client.workflow.getHandle(workflowId).signal(approvalSignal, approve(ava, 'r1', 'reject', 'no fairness report'));
  await client.workflow.getHandle(workflowId).result();
  await save('rejected', workflowId);
});

it('records lifecycles stopped by the test gate and by the security scan', async () => {
  const lowAuc = await lifecycles.register(await manifest('recorded-low-auc', { metrics: { auc: 0.6 } }), erin);
  await client.workflow.getHandle(lowAuc.workflowId).result();
  await save('failed-test', lowAuc.workflowId);

  const good = await manifest('recorded-tampered');
  const tampered = { ...good, artifacts: [{ ...good.artifacts[0]!, sha256: '0'.repeat(64) }] };
  const scanned = await lifecycles.register(tampered, erin);
  await client.workflow.getHandle(scanned.workflowId).result();
  await save('failed-scan', scanned.workflowId);
});

it('records a two-approver gate with refused, duplicate and counted attempts', async () => {
  const quorum = new Lifecycles(client, taskQueue, gatedPolicy({ quorum: 2, excludeOwningTeam: true }));
  const { workflowId } = await quorum.register(await manifest('recorded-quorum'), erin);
  await atStage(workflowId, 'approval');
  const handle = client.workflow.getHandle(workflowId);
  for (const [by, key] of [[erin, 'q1'], [ava, 'q2'], [ava, 'q3'], [rita, 'q4']] as const) {
    await handle.signal(approvalSignal, approve(by, key, 'approve', 'ok'));
  }
  await atStage(workflowId, 'monitor');
  await handle.signal(retireSignal, { requestedBy: erin, reason: 'end of recording' });
  await handle.result();
  await save('quorum', workflowId);
});

it('records gates that expire, and that escalate before an approval', async () => {
  const expiring = new Lifecycles(
    client,
    taskQueue,
    gatedPolicy({ deadline: { timeoutMs: 1200, remindAfterMs: [300], escalateAfterMs: 600, escalationGroup: 'cro', onTimeout: { action: 'reject' } } }),
  );
  const expired = await expiring.register(await manifest('recorded-expired'), erin);
  await client.workflow.getHandle(expired.workflowId).result();
  await save('deadline-expired', expired.workflowId);

  const escalating = new Lifecycles(
    client,
    taskQueue,
    gatedPolicy({ deadline: { timeoutMs: 500, remindAfterMs: [], escalateAfterMs: null, escalationGroup: null, onTimeout: { action: 'escalate', group: 'cro', extraMs: 60_000 } } }),
  );
  const escalated = await escalating.register(await manifest('recorded-escalated'), erin);
  const handle = client.workflow.getHandle(escalated.workflowId);
  await eventually('the escalation', async () => ((await handle.query(statusQuery)).gate?.eligibleGroups.includes('cro') ? true : undefined));
  await handle.signal(approvalSignal, approve(cleo, 'e1', 'approve', 'CRO sign-off'));
  await atStage(escalated.workflowId, 'monitor');
  await handle.signal(retireSignal, { requestedBy: erin, reason: 'end of recording' });
  await handle.result();
  await save('deadline-escalated', escalated.workflowId);
});

it('records requests answered in every stage: refused retrain and promotion, then a retire that withdraws the gate', async () => {
  const { workflowId } = await lifecycles.register(await manifest('recorded-retired-at-gate'), erin);
  await atStage(workflowId, 'approval');
  const handle = client.workflow.getHandle(workflowId);
  await handle.signal(retrainSignal, { requestedBy: erin, reason: 'fresh data', refused: 'only a version in the monitor stage can be retrained (stage approval)' });
  await handle.signal(promoteSignal, { requestedBy: erin, reason: 'looks fine' });
  await eventually('both refusals', async () => (stageTransitionsIn(await handle.fetchHistory()).filter((t) => t.outcome === 'refused').length === 2 ? true : undefined));
  await handle.signal(retireSignal, { requestedBy: erin, reason: 'withdrawn before approval' });
  await handle.result();
  await save('retired-at-gate', workflowId);
});

describe('one lifecycle of each example template, as the manifest picks it', () => {
  const byTemplate = () => new Lifecycles(client, taskQueue);
  const window = (id: string, errors: number, kpis: Record<string, number> = {}, sample?: Observation['sample']): Observation => ({
    id,
    windowStart: '2026-11-22T09:00:00Z',
    windowEnd: '2026-11-22T10:00:00Z',
    requests: 10_000,
    errors,
    kpis,
    reportedBy: 'serving',
    ...(sample ? { sample } : {}),
  });
  // Live inputs for drift: one sample like the reference, one with income and debt shifted.
  const reference = () => writeCsv('reference.csv', creditRows({ rows: 600, seed: 1 }));
  const calm = () => writeCsv('calm.csv', creditRows({ rows: 400, seed: 4 }));
  const shifted = () => writeCsv('shifted.csv', creditRows({ rows: 400, seed: 3, incomeShift: 0.8, debtShift: 0.6 }));
  const driftVerdicts = async (workflowId: string, count: number) =>
    eventually(`${count} drift verdicts`, async () => {
      const runs = await lifecycleRunHistories(client, workflowId);
      return runs.flatMap((r) => stageTransitionsIn(r.history)).filter((t) => t.step === 'drift').length >= count ? true : undefined;
    });
  const retire = async (workflowId: string) => {
    await atStage(workflowId, 'monitor');
    await client.workflow.getHandle(workflowId).signal(retireSignal, { requestedBy: erin, reason: 'end of recording' });
    await client.workflow.getHandle(workflowId).result();
  };

  it('records standard, with a calm, a drifted and an unreadable drift sample', async () => {
    const { workflowId } = await byTemplate().register(await manifest('recorded-standard', { riskTier: 'medium', referenceDataset: await reference() }), erin);
    const handle = client.workflow.getHandle(workflowId);
    await atStage(workflowId, 'approval');
    await handle.signal(approvalSignal, approve(ava, 's1', 'approve', 'holdout AUC 0.9'));
    await atStage(workflowId, 'monitor');
    await handle.signal(observationSignal, window('w1', 2, {}, await calm()));
    await handle.signal(observationSignal, window('w2', 2, {}, await shifted()));
    await handle.signal(observationSignal, window('w3', 2, {}, { ...(await calm()), sha256: '0'.repeat(64) }));
    await driftVerdicts(workflowId, 3);
    await retire(workflowId);
    await save('template-standard', workflowId);
  });

  it('records high-risk, through both approvers, the shadow and the canary, and a retrain on drift', async () => {
    const m = await manifest('recorded-high-risk', {
      template: 'high-risk',
      metrics: { auc: 0.9, disparateImpactRatio: 0.85, equalOpportunityDifference: 0.02 },
      referenceDataset: await reference(),
    });
    const { workflowId } = await byTemplate().register(m, erin);
    const handle = client.workflow.getHandle(workflowId);
    await atStage(workflowId, 'approval');
    await handle.signal(approvalSignal, approve(rita, 'h1', 'approve', 'fairness within bounds'));
    await handle.signal(approvalSignal, approve(ava, 'h2', 'approve', 'second pair of eyes'));
    for (const phase of ['shadow', 'canary']) {
      await eventually(phase, async () => ((await handle.query(statusQuery)).phase?.name === phase ? true : undefined));
      await handle.signal(observationSignal, window(`${phase}-window`, 3));
      await handle.signal(promoteSignal, { requestedBy: erin, reason: `${phase} looks healthy` });
    }
    // high-risk retrains on drift: the drifted window starts the successor's lifecycle.
    await atStage(workflowId, 'monitor');
    await handle.signal(observationSignal, window('drifted-window', 3, {}, await shifted()));
    await eventually('the retrain on drift', async () => ((await handle.query(statusQuery)).successor ? true : undefined));
    await handle.signal(retireSignal, { requestedBy: erin, reason: 'end of recording' });
    await handle.result();
    await save('template-high-risk', workflowId);
  });

  it('records rules-model', async () => {
    const m = await manifest('recorded-rules', { kind: 'rules', framework: 'drools', template: 'rules-model', metrics: { backtestAgreement: 0.99, ruleConflicts: 0 } });
    const { workflowId } = await byTemplate().register(m, erin);
    await atStage(workflowId, 'approval');
    const handle = client.workflow.getHandle(workflowId);
    await handle.signal(approvalSignal, approve(bo, 'b1', 'approve', 'backtest agrees'));
    await atStage(workflowId, 'monitor');
    await handle.signal(observationSignal, window('w1', 5, { approvalRate: 0.5, manualReviewRate: 0.05 }));
    await handle.signal(observationSignal, window('w2', 40, { approvalRate: 0.9, manualReviewRate: 0.05 }));
    await eventually('both windows judged', async () => {
      const runs = await lifecycleRunHistories(client, workflowId);
      return runs.flatMap((r) => stageTransitionsIn(r.history)).some((t) => t.outcome === 'breached') ? true : undefined;
    });
    await retire(workflowId);
    await save('template-rules-model', workflowId);
  });
});
