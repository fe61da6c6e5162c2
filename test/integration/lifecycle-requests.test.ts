import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../api/tokens.js';
import { lifecycleWorkflowId } from '../../core/model-id.js';
import { defaultPolicy, type LifecyclePolicy } from '../../core/policy.js';
import type { LifecycleResult } from '../../workflows/lifecycle.js';
import { statusQuery, type RetrainRequest } from '../../workflows/messages.js';
import { signalsIn, stageTransitionsIn } from '../harness/history.js';
import { sampleManifest } from '../harness/manifests.js';
import { eventually, startTestStack, type TestStack } from '../harness/index.js';

const policy: LifecyclePolicy = { ...defaultPolicy, monitor: { intervalMs: 60_000, cyclesPerRun: 10 } };

/**
 * Requests the lifecycle used to ignore while answering 202: a retire during the approval gate (the version
 * then deployed on approval anyway), a retrain or promotion outside the stage that takes it. Now a retire acts
 * at once in every stage and the others are refused with 409, and every request is on record in history.
 */
describe('lifecycle requests', () => {
  let stack: TestStack;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    stack = await startTestStack('requests', { policy });
    tokens.erin = await createApiToken(stack.database.db, 'erin', ['engineer'], ['credit-risk']);
    tokens.rita = await createApiToken(stack.database.db, 'rita', ['approver:risk'], ['model-risk']);
  });
  afterAll(() => stack?.stop());

  async function atGate() {
    const manifest = await sampleManifest();
    expect((await stack.api.call('POST', '/models', { token: tokens.erin, body: manifest })).status).toBe(201);
    const id = `${manifest.name}@1.0.0`;
    const handle = stack.client.workflow.getHandle(lifecycleWorkflowId({ name: manifest.name, version: '1.0.0' }));
    await eventually('the gate to open', async () => ((await handle.query(statusQuery)).gate ? true : undefined));
    return { id, handle };
  }

  it('retires at once when asked during the approval gate: the gate is withdrawn and nothing deploys', async () => {
    const { id, handle } = await atGate();
    const retire = await stack.api.call('POST', `/models/${id}/retire`, { token: tokens.erin, body: { reason: 'superseded by a vendor model' } });
    expect(retire.status).toBe(202);
    const result: LifecycleResult = await handle.result();
    expect(result).toEqual({ modelVersionId: id, endedBy: 'retired', reason: 'superseded by a vendor model' });

    const transitions = stageTransitionsIn(await handle.fetchHistory());
    const approval = transitions.filter((t) => t.stage === 'approval').map((t) => t.outcome);
    expect(approval).toEqual(['entered', 'cancelled']);
    expect(transitions.at(-1)).toMatchObject({ stage: 'retire', outcome: 'completed', actor: 'erin', detail: { endedBy: 'retired' } });
    expect(transitions.some((t) => t.stage === 'deploy')).toBe(false);

    // An approval arriving afterwards finds the lifecycle ended, and no deployment was ever made.
    const late = await stack.api.call('POST', `/models/${id}/approvals`, { token: tokens.rita, body: { decision: 'approve', comment: 'late' } });
    expect(late.status).toBe(409);
    const deployments = await stack.database.db.selectFrom('deployments').select('id').where('model_version_id', '=', id).execute();
    expect(deployments).toEqual([]);
  });

  it('refuses a retrain or a promotion outside their stage with 409, and records the refusal in history', async () => {
    const { id, handle } = await atGate();
    const retrain = await stack.api.call('POST', `/models/${id}/retrain`, { token: tokens.erin, body: { reason: 'fresh data' } });
    expect(retrain.status).toBe(409);
    expect(retrain.body.error).toMatchObject({ code: 'not_retrainable', message: expect.stringContaining('stage approval') });
    const promote = await stack.api.call('POST', `/models/${id}/promote`, { token: tokens.erin, body: { reason: 'looks fine' } });
    expect(promote.status).toBe(409);

    const refusals = await eventually('both refusals on record', async () => {
      const found = stageTransitionsIn(await handle.fetchHistory()).filter((t) => t.outcome === 'refused');
      return found.length === 2 ? found : undefined;
    });
    expect(refusals.map((t) => [t.stage, t.step, t.actor, t.detail.request, t.detail.reason])).toEqual([
      ['approval', 'request', 'erin', 'retrain', 'fresh data'],
      ['approval', 'request', 'erin', 'promote', 'looks fine'],
    ]);
    expect(refusals[0]!.detail.problem).toMatch(/monitor stage/);
    expect(signalsIn<RetrainRequest>(await handle.fetchHistory(), 'retrain')).toHaveLength(1);
    // The catalog projects the refusals like any transition.
    const rows = await stack.database.db.selectFrom('stage_transitions').select(['outcome', 'stage']).where('model_version_id', '=', id).where('outcome', '=', 'refused').execute();
    expect(rows).toHaveLength(2);

    // The lifecycle itself is untouched: the gate is still open and an approval deploys the version.
    const approve = await stack.api.call('POST', `/models/${id}/approvals`, { token: tokens.rita, body: { decision: 'approve', comment: 'ok' } });
    expect(approve.body.verdict).toEqual({ status: 'accepted', decision: 'approve' });
    await eventually('deployment', async () => ((await handle.query(statusQuery)).stage === 'monitor' ? true : undefined));
    const accepted = await stack.api.call('POST', `/models/${id}/retrain`, { token: tokens.erin, body: { reason: 'fresh data' } });
    expect(accepted.status).toBe(202);
    await eventually('the successor', async () => (await handle.query(statusQuery)).successor ?? undefined);
    const again = await stack.api.call('POST', `/models/${id}/retrain`, { token: tokens.erin, body: { reason: 'once more' } });
    expect([again.status, again.body.error.code]).toEqual([409, 'not_retrainable']);
  });
});
