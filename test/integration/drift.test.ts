import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lifecycles } from '../../api/lifecycles.js';
import { createApiToken } from '../../api/tokens.js';
import { exportBundle } from '../../audit/bundle.js';
import { lineageOf, productionAt } from '../../audit/lineage.js';
import { lifecycleRunHistories } from '../../audit/run-histories.js';
import type { DriftSummary } from '../../core/drift.js';
import { manifestSchema, type ModelManifest } from '../../core/manifest.js';
import { lifecycleWorkflowId } from '../../core/model-id.js';
import type { Principal } from '../../core/principal.js';
import type { StageTransition } from '../../core/stages.js';
import { observationSignal, statusQuery, type Observation } from '../../workflows/messages.js';
import { quickTemplates } from '../fixtures/workflows/short-phases.js';
import { creditRows, writeCsv } from '../harness/datasets.js';
import { stageTransitionsIn } from '../harness/history.js';
import {
  eventually,
  startTestStack,
  type TestDatabase,
  type TestStack,
  startBundledLifecycles,
  type BundledLifecycles,
} from '../harness/index.js';
import { sampleManifest } from '../harness/manifests.js';

/**
 * Feature drift end to end on a real dev server and PostgreSQL: the serving side reports a window with a file
 * of live inputs, the lifecycle has the reference compared column by column with Evidently's default tests,
 * records the verdict, retrains on drift when its template says so, and audit answers "what was the drift
 * status then" from the histories alone.
 */

const reference = () => writeCsv('reference.csv', creditRows({ rows: 600, seed: 1 }));
const sameDistribution = () => writeCsv('same.csv', creditRows({ rows: 400, seed: 4 }));
/** Income and debt move by most of a standard deviation; age bands stay put. */
const shifted = () => writeCsv('shifted.csv', creditRows({ rows: 400, seed: 3, incomeShift: 0.8, debtShift: 0.6 }));

const windowOf = (id: string, sample?: { uri: string; sha256: string }): Observation => ({
  id,
  windowStart: new Date(Date.now() - 60_000).toISOString(),
  windowEnd: new Date().toISOString(),
  requests: 400,
  errors: 0,
  kpis: {},
  reportedBy: 'serving',
  ...(sample ? { sample } : {}),
});

const driftSteps = async (client: Client, workflowId: string): Promise<StageTransition[]> =>
  (await lifecycleRunHistories(client, workflowId)).flatMap((r) => stageTransitionsIn(r.history)).filter((t) => t.step === 'drift');

describe('feature drift in the monitor loop', () => {
  let stack: BundledLifecycles;
  let client: Client;
  let database: TestDatabase;
  let lifecycles: Lifecycles;
  const erin: Principal = { id: 'erin', roles: ['engineer'] };

  beforeAll(async () => {
    stack = await startBundledLifecycles('drift', 'short-phases.ts', quickTemplates);
    ({ client, database, lifecycles } = stack);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('records each window\'s verdict, retrains on drift, and answers the drift status at any time from the histories', async () => {
    const m: ModelManifest = manifestSchema.parse(await sampleManifest({ name: 'drifting', template: 'watchful', referenceDataset: await reference() }));
    const { workflowId, modelVersionId } = await lifecycles.register(m, erin);
    const handle = client.workflow.getHandle(workflowId);
    await eventually('monitoring', async () => ((await handle.query(statusQuery)).stage === 'monitor' ? true : undefined), { timeoutMs: 15_000 });
    expect((await handle.query(statusQuery)).drift).toEqual({ watched: true, unwatchedBecause: null, last: null });

    await handle.signal(observationSignal, windowOf('w1', await sameDistribution()));
    const tampered = { ...(await sameDistribution()), sha256: 'f'.repeat(64) };
    await handle.signal(observationSignal, windowOf('w2', tampered));
    await eventually('two verdicts', async () => ((await driftSteps(client, workflowId)).length === 2 ? true : undefined));

    const [calm, refused] = await driftSteps(client, workflowId);
    expect(calm!.outcome).toBe('passed');
    const calmSummary = calm!.detail as unknown as DriftSummary;
    // Reference of 600 rows (≤ 1000): KS for the numbers, chi-square for the four age bands.
    expect(calmSummary.columns.map((c) => [c.column, c.stattest, c.drifted])).toEqual([
      ['income', 'ks', false],
      ['debt_to_income', 'ks', false],
      ['age_band', 'chisquare', false],
    ]);
    expect(calmSummary).toMatchObject({ drifted: false, share: 0, columnShare: 0.5, columnsCompared: 3, referenceRows: 600, currentRows: 400 });
    expect(calm!.report).toMatchObject({ kind: 'drift', summary: { drifted: false, columnsCompared: 3 } });
    // A sample whose bytes are not the ones declared is not compared; the refusal is on record.
    expect(refused!.outcome).toBe('failed');
    expect('problem' in refused!.detail && refused!.detail.problem).toMatch(/sha256 is [0-9a-f]{64}, but f{64} was declared/);
    expect((await handle.query(statusQuery)).drift.last).toMatchObject({ window: 'w2', outcome: 'failed' });

    await handle.signal(observationSignal, windowOf('w3', await shifted()));
    const childId = lifecycleWorkflowId({ name: m.name, version: '1.1.0' });
    await eventually('the retrained successor', async () => ((await handle.query(statusQuery)).successor?.workflowId === childId ? true : undefined), {
      timeoutMs: 15_000,
    });
    const drifted = (await driftSteps(client, workflowId))[2]!;
    expect(drifted.outcome).toBe('drifted');
    expect(drifted.detail).toMatchObject({ drifted: true, driftedColumns: ['income', 'debt_to_income'], share: 2 / 3 });
    const retrain = (await lifecycleRunHistories(client, workflowId)).flatMap((r) => stageTransitionsIn(r.history)).find((t) => t.stage === 'retrain')!;
    expect(retrain).toMatchObject({ outcome: 'passed', actor: 'steward', detail: { reason: 'feature drift in window w3: 2 of 3 columns drifted (income, debt_to_income)', successor: childId } });

    // The full report is in the content store under the digest history carries.
    const report = (await database.evidence.get(drifted.report!.digest)) as { columns: { column: string; statistic: number }[]; sample: { rows: number } };
    expect(report.sample.rows).toBe(400);
    expect(report.columns.map((c) => c.statistic)).toEqual((drifted.detail as unknown as DriftSummary).columns.map((c) => c.statistic));
    // The catalog projects every verdict.
    const projected = await database.db.selectFrom('stage_transitions').select(['outcome']).where('model_version_id', '=', modelVersionId).where('step', '=', 'drift').orderBy('seq').execute();
    expect(projected.map((r) => r.outcome)).toEqual(['passed', 'failed', 'drifted']);

    // Point in time, from an exported bundle: calm after w1, drifted at w3, before the successor took over.
    await eventually('the successor deployed', async () => ((await client.workflow.getHandle(childId).query(statusQuery)).stage === 'monitor' ? true : undefined), {
      timeoutMs: 15_000,
    });
    const lineage = lineageOf(await exportBundle(client, { name: m.name, version: m.version }, { exportedBy: 'ada' }));
    const [atCalm] = productionAt(lineage, new Date(Date.parse(calm!.at) + 1));
    expect(atCalm).toMatchObject({ modelVersionId, drift: { outcome: 'passed', share: 0, driftedColumns: [], window: { id: 'w1' } } });
    const [atDrift] = productionAt(lineage, new Date(drifted.at));
    expect(atDrift).toMatchObject({ modelVersionId, drift: { outcome: 'drifted', share: 2 / 3, driftedColumns: ['income', 'debt_to_income'], window: { id: 'w3' } } });
    expect(atDrift!.drift!.report).toBe(drifted.report!.digest);
    const child = lineage.versions.find((v) => v.modelVersionId !== modelVersionId)!;
    expect(child.parent).toMatchObject({ modelVersionId, reason: expect.stringContaining('feature drift in window w3') });
  });
});

describe('drift samples through the HTTP API', () => {
  let stack: TestStack;
  let engineer: string;
  let approver: string;

  beforeAll(async () => {
    stack = await startTestStack('drift-api');
    engineer = await createApiToken(stack.database.db, 'erin', ['engineer']);
    approver = await createApiToken(stack.database.db, 'ava', ['approver:risk']);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  /** A low-risk model on the released standard template, approved and deployed through the API. */
  async function serving(extra: Record<string, unknown>): Promise<{ id: string; workflowId: string }> {
    const m = await sampleManifest({ name: 'api-drift', riskTier: 'low', ...extra });
    const created = await stack.api.call('POST', '/models', { token: engineer, body: m });
    expect(created.status).toBe(201);
    const id = `${m.name}@${m.version}`;
    await eventually('the approval gate', async () => ((await stack.api.call('GET', `/models/${id}`, { token: engineer })).body.stage === 'approval' ? true : undefined), {
      timeoutMs: 15_000,
    });
    const decided = await stack.api.call('POST', `/models/${id}/approvals`, { token: approver, body: { decision: 'approve', comment: 'evidence reviewed' } });
    expect(decided.status).toBeLessThan(300);
    await eventually('monitoring', async () => ((await stack.api.call('GET', `/models/${id}`, { token: engineer })).body.stage === 'monitor' ? true : undefined), {
      timeoutMs: 15_000,
    });
    return { id, workflowId: created.body.workflowId };
  }

  const observation = (sample?: unknown) => ({
    windowStart: new Date(Date.now() - 60_000).toISOString(),
    windowEnd: new Date().toISOString(),
    requests: 400,
    errors: 1,
    ...(sample ? { sample } : {}),
  });

  it('accepts a window with a sample and records the drift verdict under the released template', async () => {
    const { id, workflowId } = await serving({ referenceDataset: await reference() });
    const res = await stack.api.call('POST', `/models/${id}/observations`, { token: engineer, body: observation(await shifted()) });
    expect(res.status).toBe(202);
    await eventually('the verdict', async () => ((await driftSteps(stack.client, workflowId)).length ? true : undefined));
    const [verdict] = await driftSteps(stack.client, workflowId);
    expect(verdict).toMatchObject({ outcome: 'drifted', detail: { driftedColumns: ['income', 'debt_to_income'], columnShare: 0.5 } });
  });

  it('refuses a sample the lifecycle cannot compare, naming body.sample, and a malformed one with 400', async () => {
    const { id } = await serving({ referenceDataset: undefined });
    const unwatched = await stack.api.call('POST', `/models/${id}/observations`, { token: engineer, body: observation(await shifted()) });
    expect(unwatched.status).toBe(422);
    expect(unwatched.body.error).toMatchObject({ code: 'drift_not_watched', issues: [{ field: 'body.sample', problem: expect.stringContaining('no referenceDataset') }] });
    const malformed = await stack.api.call('POST', `/models/${id}/observations`, { token: engineer, body: observation({ uri: 'ftp://x/y.csv', sha256: 'abc' }) });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.issues.map((i: { field: string }) => i.field)).toEqual(['body.sample.uri', 'body.sample.sha256']);
  });
});
