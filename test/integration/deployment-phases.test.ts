import { isWindowJudged } from '../../core/evidence.js';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lifecycles } from '../../api/lifecycles.js';
import { lifecycleRunHistories } from '../../audit/run-histories.js';
import { manifestSchema, type ModelManifest } from '../../core/manifest.js';
import type { Principal } from '../../core/principal.js';
import type { LifecycleResult } from '../../workflows/lifecycle.js';
import { observationSignal, retireSignal, statusQuery, type Observation } from '../../workflows/messages.js';
import { quickTemplates } from '../fixtures/workflows/short-phases.js';
import { stageTransitionsIn } from '../harness/history.js';
import {
  eventually,
  type TestDatabase,
  startBundledLifecycles,
  type BundledLifecycles,
} from '../harness/index.js';
import { sampleManifest } from '../harness/manifests.js';

/**
 * Shadow and canary phases on their own clock (the `quick` template holds each for 1.5 s): promotion when the
 * hold ends, rollback when a phase deployment is taken away, retirement in the middle of a phase, and the
 * template's maximum lifetime.
 */
describe('deployment phases and end of life', () => {
  let stack: BundledLifecycles;
  let client: Client;
  let database: TestDatabase;
  let lifecycles: Lifecycles;
  const erin: Principal = { id: 'erin', roles: ['engineer'] };

  beforeAll(async () => {
    stack = await startBundledLifecycles('phases', 'short-phases.ts', quickTemplates);
    ({ client, database, lifecycles } = stack);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const manifest = async (name: string): Promise<ModelManifest> => manifestSchema.parse(await sampleManifest({ name, template: 'quick' }));
  const deployments = (id: string) =>
    database.db.selectFrom('deployments').selectAll().where('model_version_id', '=', id).orderBy('from_time').orderBy('id').execute();
  const steps = async (workflowId: string) =>
    (await lifecycleRunHistories(client, workflowId)).flatMap((r) => stageTransitionsIn(r.history)).filter((t) => t.stage === 'deploy' || t.stage === 'retire');

  it('promotes each phase when its hold ends, then retires the version at the end of its lifetime', async () => {
    const m = await manifest('phased');
    const { workflowId, modelVersionId } = await lifecycles.register(m, erin);
    const result = (await client.workflow.getHandle(workflowId).result()) as LifecycleResult;
    expect(result).toMatchObject({ endedBy: 'end-of-life' });

    const path = await steps(workflowId);
    expect(path.map((t) => `${t.stage}/${t.step ?? ''}:${t.outcome} by ${t.actor}`)).toEqual([
      'deploy/shadow:entered by steward',
      'deploy/shadow:passed by steward',
      'deploy/canary:entered by steward',
      'deploy/canary:passed by steward',
      'deploy/:passed by steward',
      'retire/:completed by steward',
    ]);
    expect(path[1]!.detail).toEqual({ reason: 'hold time elapsed, healthy' });
    const rows = await deployments(modelVersionId);
    expect(rows.map((d) => [d.strategy, d.traffic_share, d.end_reason])).toEqual([
      ['shadow', 0, 'promoted after shadow'],
      ['canary', 0.25, 'promoted after canary'],
      ['replace', 1, result.reason],
    ]);
    // Each phase held for its full time; the champion served until the lifetime ran out.
    const held = (d: (typeof rows)[number]) => d.to_time!.getTime() - d.from_time.getTime();
    expect(held(rows[0]!)).toBeGreaterThanOrEqual(1500);
    expect(held(rows[1]!)).toBeGreaterThanOrEqual(1500);
    expect(held(rows[2]!)).toBeGreaterThanOrEqual(4000);
  });

  it('rolls back when a phase deployment is taken away during its hold, leaving the champion alone', async () => {
    const champion = await manifest('rollback');
    const first = await lifecycles.register(champion, erin);
    await eventually('the champion', async () => ((await client.workflow.getHandle(first.workflowId).query(statusQuery)).stage === 'monitor' ? true : undefined), {
      timeoutMs: 15_000,
    });

    const candidate = { ...champion, version: '1.1.0' };
    const second = await lifecycles.register(candidate, erin);
    await eventually('the shadow', async () => ((await client.workflow.getHandle(second.workflowId).query(statusQuery)).phase?.name === 'shadow' ? true : undefined));
    // The runtime dropped the shadow (here: the serving side ended the row) before its hold was over.
    await database.db
      .updateTable('deployments')
      .set({ to_time: new Date(), end_reason: 'runtime: shadow replica crashed' })
      .where('id', '=', `${second.workflowId}/deploy/shadow`)
      .execute();

    const result = (await client.workflow.getHandle(second.workflowId).result()) as LifecycleResult;
    expect(result).toEqual({ modelVersionId: second.modelVersionId, endedBy: 'rolled-back', reason: 'shadow: runtime: shadow replica crashed' });
    expect((await steps(second.workflowId)).map((t) => `${t.step ?? t.stage}:${t.outcome}`)).toEqual(['shadow:entered', 'shadow:failed', 'retire:completed']);
    // The rollback (its routing drain included) touched only the shadow's row; the champion's row is live, or
    // ended by the champion's own 4 s lifetime, which may run out while the shadow drains.
    const rows = await database.db.selectFrom('deployments').select(['id', 'end_reason']).where('model_name', '=', champion.name).orderBy('from_time').execute();
    expect(rows).toEqual([
      { id: `${first.workflowId}/deploy/shadow`, end_reason: 'promoted after shadow' },
      { id: `${first.workflowId}/deploy/canary`, end_reason: 'promoted after canary' },
      { id: `${first.workflowId}/deploy`, end_reason: expect.toBeOneOf([null, expect.stringMatching(/^reached the template's maximum lifetime/)]) },
      { id: `${second.workflowId}/deploy/shadow`, end_reason: 'runtime: shadow replica crashed' },
    ]);
    const championHandle = client.workflow.getHandle(first.workflowId);
    if ((await championHandle.describe()).status.name === 'RUNNING') await championHandle.signal(retireSignal, { requestedBy: erin, reason: 'test over' });
  });

  it('rolls a canary back at once when an observed window breaches the monitor policy', async () => {
    const m = await manifest('canary-breach');
    const { workflowId, modelVersionId } = await lifecycles.register(m, erin);
    const handle = client.workflow.getHandle(workflowId);
    const window = (id: string, errors: number): Observation => ({
      id,
      windowStart: new Date(Date.now() - 60_000).toISOString(),
      windowEnd: new Date().toISOString(),
      requests: 200,
      errors,
      kpis: { approvalRate: 0.5 },
      reportedBy: 'serving',
    });
    await eventually('the shadow', async () => ((await handle.query(statusQuery)).phase?.name === 'shadow' ? true : undefined));
    await handle.signal(observationSignal, window('healthy-shadow', 1));
    await handle.signal(observationSignal, window('healthy-shadow', 1)); // a retry: judged once
    await eventually('the canary', async () => ((await handle.query(statusQuery)).phase?.name === 'canary' ? true : undefined));
    const breachSent = Date.now();
    await handle.signal(observationSignal, window('bad-canary', 30));

    const result = (await handle.result()) as LifecycleResult;
    expect(result).toMatchObject({ endedBy: 'rolled-back', reason: 'canary: error rate 0.15 > 0.05' });
    expect((await deployments(modelVersionId)).map((d) => [d.strategy, d.end_reason])).toEqual([
      ['shadow', 'promoted after shadow'],
      ['canary', 'rolled back: error rate 0.15 > 0.05'],
    ]);
    // At once, not at the end of the 1.5 s hold.
    const canary = (await deployments(modelVersionId))[1]!;
    expect(canary.to_time!.getTime() - breachSent).toBeLessThan(1500);
    const judged = (await lifecycleRunHistories(client, workflowId)).flatMap((r) => stageTransitionsIn(r.history)).filter(isWindowJudged);
    expect(judged.map((t) => [t.outcome, t.detail.phase, t.detail.breaches])).toEqual([
      ['passed', 'shadow', []],
      ['breached', 'canary', ['error rate 0.15 > 0.05']],
    ]);
  });

  it('retires in the middle of a phase, ending the phase deployment', async () => {
    const m = await manifest('retired-mid-phase');
    const { workflowId, modelVersionId } = await lifecycles.register(m, erin);
    await eventually('the shadow', async () => ((await client.workflow.getHandle(workflowId).query(statusQuery)).phase?.name === 'shadow' ? true : undefined));
    await client.workflow.getHandle(workflowId).signal(retireSignal, { requestedBy: erin, reason: 'withdrawn by the owner' });
    const result = (await client.workflow.getHandle(workflowId).result()) as LifecycleResult;
    expect(result).toMatchObject({ endedBy: 'retired', reason: 'withdrawn by the owner' });
    expect((await deployments(modelVersionId)).map((d) => [d.strategy, d.end_reason])).toEqual([['shadow', 'retired during shadow']]);
  });
});
