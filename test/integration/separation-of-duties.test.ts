import { isGateDecided } from '../../core/evidence.js';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../api/tokens.js';
import type { ManifestInput } from '../../core/manifest.js';
import { lifecycleWorkflowId } from '../../core/model-id.js';
import { defaultApprovalPolicy, defaultPolicy, type ApprovalPolicy, type LifecyclePolicy } from '../../core/policy.js';
import { statusQuery } from '../../workflows/messages.js';
import { stageTransitionsIn } from '../harness/history.js';
import { sampleManifest } from '../harness/manifests.js';
import { eventually, startTestApi, startTestStack, type TestApi, type TestStack } from '../harness/index.js';

/**
 * Separation of duties holes found by probing the real stack: an Idempotency-Key shared between approvers,
 * an owning team taken from what the manifest declares, and a retrained version approvable by the author of
 * the artifacts it reuses. Each case failed before the fix.
 */
describe('separation of duties', () => {
  let stack: TestStack;
  const apis: TestApi[] = [];
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    stack = await startTestStack('duties');
    const people: [string, Parameters<typeof createApiToken>[2], string[]][] = [
      ['erin', ['engineer', 'approver:risk'], ['credit-risk']],
      ['eve', ['engineer', 'approver:risk'], ['platform']],
      ['rita', ['approver:risk'], ['model-risk']],
      ['raj', ['approver:risk'], ['model-risk']],
      ['tom', ['approver:risk'], ['credit-risk']],
      ['cleo', ['approver:cro'], ['executive']],
      ['carl', ['approver:cro'], ['credit-risk']],
    ];
    for (const [who, roles, teams] of people) tokens[who] = await createApiToken(stack.database.db, who, roles, teams);
  });

  afterAll(async () => {
    for (const api of apis) await api.close();
    await stack?.stop();
  });

  async function apiWith(approval: Partial<ApprovalPolicy>): Promise<TestApi> {
    const policy: LifecyclePolicy = { ...defaultPolicy, approval: { ...defaultApprovalPolicy, ...approval }, monitor: { intervalMs: 60_000, cyclesPerRun: 10 } };
    const api = await startTestApi({ client: stack.client, database: stack.database, taskQueue: stack.taskQueue, policy });
    apis.push(api);
    return api;
  }

  async function atGate(api: TestApi, manifest: ManifestInput, by = 'erin') {
    const res = await api.call('POST', '/models', { token: tokens[by], body: manifest });
    expect(res.status).toBe(201);
    const id = `${manifest.name}@${manifest.version}`;
    const handle = stack.client.workflow.getHandle(lifecycleWorkflowId({ name: manifest.name, version: manifest.version }));
    await eventually('the gate to open', async () => ((await handle.query(statusQuery)).gate ? true : undefined));
    const decide = (who: string, key?: string) =>
      api.call('POST', `/models/${id}/approvals`, { token: tokens[who], body: { decision: 'approve', comment: `${who} agrees` }, ...(key ? { headers: { 'idempotency-key': key } } : {}) });
    return { id, handle, decide };
  }

  it('keeps Idempotency-Keys per approver: a second approver reusing a key is counted, not answered with the first verdict', async () => {
    const api = await apiWith({ quorum: 2 });
    const { handle, decide } = await atGate(api, await sampleManifest());
    const key = 'shared-key-0001';
    const first = await decide('rita', key);
    expect(first.body.verdict).toEqual({ status: 'counted', approvals: 1, quorum: 2, missingGroups: [] });
    const second = await decide('raj', key);
    expect([second.status, second.body.verdict]).toEqual([200, { status: 'accepted', decision: 'approve' }]);
    // The same approver retrying with the same key is still the same attempt.
    const retry = await decide('rita', key);
    expect(retry.body.verdict).toEqual(first.body.verdict);
    expect(retry.body.attemptId).toBe(first.body.attemptId);
    const passed = stageTransitionsIn(await handle.fetchHistory()).filter(isGateDecided).find((t) => t.outcome === 'passed');
    expect(passed?.detail.approvers).toEqual(['rita', 'raj']);
    await handle.terminate('test over');
  });

  it('shuts out the registrant\'s authenticated team, whatever team the manifest declares', async () => {
    const api = await apiWith({ excludeOwningTeam: true });
    // erin authenticates as credit-risk but declares another team in the manifest.
    const { id, handle, decide } = await atGate(api, await sampleManifest({ team: 'unrelated-team' }));
    const inboxOf = async (who: string) => ((await api.call('GET', '/approvals', { token: tokens[who] })).body.items as { modelVersionId: string }[]).map((i) => i.modelVersionId);
    expect(await inboxOf('tom')).not.toContain(id);
    expect(await inboxOf('rita')).toContain(id);
    const teammate = await decide('tom');
    expect([teammate.status, teammate.body.verdict]).toEqual([403, { status: 'refused', reason: 'separation-of-duties' }]);
    expect((await decide('rita')).body.verdict).toEqual({ status: 'accepted', decision: 'approve' });
    await handle.terminate('test over');
  });

  it('keeps shutting out the owning team after the gate escalates, in the inbox too', async () => {
    const api = await apiWith({
      excludeOwningTeam: true,
      deadline: { timeoutMs: 300, remindAfterMs: [], escalateAfterMs: null, escalationGroup: null, onTimeout: { action: 'escalate', group: 'cro', extraMs: 60_000 } },
    });
    const { id, handle, decide } = await atGate(api, await sampleManifest({ team: 'unrelated-team' }));
    await eventually('the escalation', async () => ((await handle.query(statusQuery)).gate?.eligibleGroups.includes('cro') ? true : undefined));
    const inboxOf = async (who: string) => ((await api.call('GET', '/approvals', { token: tokens[who] })).body.items as { modelVersionId: string }[]).map((i) => i.modelVersionId);
    await eventually('the escalated gate in the CRO inbox', async () => ((await inboxOf('cleo')).includes(id) ? true : undefined));
    expect(await inboxOf('carl')).not.toContain(id);
    expect((await decide('carl')).body.verdict).toEqual({ status: 'refused', reason: 'separation-of-duties' });
    expect((await decide('cleo')).body.verdict).toEqual({ status: 'accepted', decision: 'approve' });
    await handle.terminate('test over');
  });

  it('treats whoever registered the artifacts a retrained version reuses as its author', async () => {
    const api = await apiWith({});
    const parent = await atGate(api, await sampleManifest(), 'erin');
    expect((await parent.decide('rita')).body.verdict).toEqual({ status: 'accepted', decision: 'approve' });
    await eventually('the parent to serve', async () => ((await parent.handle.query(statusQuery)).stage === 'monitor' ? true : undefined));

    // eve asks for the retrain; the child reuses erin's artifacts, so neither of them may approve it.
    const retrain = await api.call('POST', `/models/${parent.id}/retrain`, { token: tokens.eve, body: { reason: 'new quarter' } });
    expect(retrain.status).toBe(202);
    const successor = await eventually('the successor', async () => (await parent.handle.query(statusQuery)).successor ?? undefined);
    const child: WorkflowHandle = stack.client.workflow.getHandle(successor.workflowId);
    await eventually('the child gate', async () => ((await child.query(statusQuery)).gate ? true : undefined));
    const childId = parent.id.replace('@1.0.0', `@${successor.version}`);
    const decideChild = (who: string) => api.call('POST', `/models/${childId}/approvals`, { token: tokens[who], body: { decision: 'approve', comment: 'fine' } });

    const childInbox = async (who: string) => ((await api.call('GET', '/approvals', { token: tokens[who] })).body.items as { modelVersionId: string }[]).map((i) => i.modelVersionId);
    await eventually('the child in the inbox', async () => ((await childInbox('raj')).includes(childId) ? true : undefined));
    expect(await childInbox('erin')).not.toContain(childId);
    const byArtifactAuthor = await decideChild('erin');
    expect([byArtifactAuthor.status, byArtifactAuthor.body.verdict]).toEqual([403, { status: 'refused', reason: 'separation-of-duties' }]);
    const byRequester = await decideChild('eve');
    expect([byRequester.status, byRequester.body.verdict]).toEqual([403, { status: 'refused', reason: 'separation-of-duties' }]);
    expect((await decideChild('raj')).body.verdict).toEqual({ status: 'accepted', decision: 'approve' });
    await child.terminate('test over');
    await parent.handle.terminate('test over').catch(() => undefined);
  });
});
