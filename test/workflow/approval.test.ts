import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../core/principal.js';
import { approvalSignal, promoteSignal, retrainSignal } from '../../workflows/messages.js';
import { DAY, decision, manifest, people, policyWith, startLifecycleStack, type Lifecycle, type LifecycleStack } from './support/lifecycle-stack.js';

/**
 * The approval gate: who may decide and how many, separation of duties, attempts out of turn, the deadline's
 * reminders, escalation and timeout (a 10-day deadline passes in milliseconds), and requests the gate refuses.
 * Every attempt gets a verdict, recorded through `recordApprovalAttempt`.
 */
let s: LifecycleStack;
beforeAll(async () => {
  s = await startLifecycleStack();
});
afterEach(() => s.retireLeftovers());
afterAll(() => s?.stop());

/** Starts a lifecycle and waits for its approval gate to open. */
async function atGate(input: Parameters<LifecycleStack['start']>[0]): Promise<{ lifecycle: Lifecycle; opened: number }> {
  const lifecycle = await s.start(input);
  const entered = await s.fakes.transition(lifecycle.workflowId, 'approval:entered');
  return { lifecycle, opened: Date.parse(entered.at) };
}

const iso = (ms: number) => new Date(ms).toISOString();
/**
 * Server time when the workflow acted on a timer: the timer's due time, plus the little wall-clock time the
 * worker took to pick it up (the clock runs at normal speed while the workflow works).
 */
const onTime = (at: unknown, dueMs: number) => {
  const late = Date.parse(String(at)) - dueMs;
  expect(late, `${String(at)} should be ${iso(dueMs)}`).toBeGreaterThanOrEqual(0);
  expect(late, `${String(at)} should be ${iso(dueMs)}`).toBeLessThan(2_000);
};

describe('deciding', () => {
  it('passes on one eligible approval and deploys, with who decided and on which roles on record', async () => {
    const { lifecycle, opened } = await atGate({ manifest: manifest({ template: 'standard' }) });
    expect(s.fakes.transitions(lifecycle.workflowId).at(-1)?.detail).toEqual({
      groups: ['risk'],
      quorum: 1,
      requireEveryGroup: false,
      excludeOwningTeam: false,
      deadline: iso(opened + 5 * DAY),
      authors: ['erin'],
    });
    expect((await s.status(lifecycle)).gate).toEqual({ eligibleGroups: ['risk'], approvals: [], quorum: 1, deadline: iso(opened + 5 * DAY) });

    const attempt = await s.attempt(lifecycle, decision(people.ana, 'approve', 'backtest and scan reviewed'));
    expect(attempt).toMatchObject({ stage: 'approval', verdict: { status: 'accepted', decision: 'approve' } });
    const passed = await s.fakes.transition(lifecycle.workflowId, 'approval:passed');
    expect(passed).toMatchObject({ actor: 'ana', detail: { decision: 'approve', comment: 'backtest and scan reviewed', roles: ['approver:risk'], approvers: ['ana'] } });
    await s.fakes.transition(lifecycle.workflowId, 'monitor:passed');
    const status = await s.status(lifecycle);
    expect(status).toMatchObject({ stage: 'monitor', gate: null });
    expect(status.approvals.map((a) => [a.request.principal.id, a.verdict.status])).toEqual([['ana', 'accepted']]);
  });

  it('ends the lifecycle on one rejection, whose comment is the reason; a rejection without one is refused', async () => {
    const { lifecycle } = await atGate({ manifest: manifest({ template: 'standard' }) });
    expect((await s.attempt(lifecycle, decision(people.ana, 'reject', '  '))).verdict).toEqual({ status: 'refused', reason: 'reason-required' });
    expect((await s.status(lifecycle)).gate).not.toBeNull();

    await s.attempt(lifecycle, decision(people.bo, 'reject', 'backtest window too short'));
    const result = await s.result(lifecycle);
    expect(result).toEqual({ modelVersionId: lifecycle.modelVersionId, endedBy: 'rejected', reason: 'backtest window too short' });
    expect(s.fakes.path(lifecycle.workflowId).slice(-2)).toEqual(['approval:rejected', 'retire:completed']);
    expect(s.fakes.transitions(lifecycle.workflowId).at(-2)).toMatchObject({ actor: 'bo', detail: { decision: 'reject', comment: 'backtest window too short', approvers: [] } });
    expect(s.fakes.callsOf('deployVersion', lifecycle.workflowId)).toEqual([]);
  });

  it('needs a quorum of distinct approvers: the first is counted, the second decides', async () => {
    // The standard template asks two risk approvers of a high-risk tier.
    const { lifecycle } = await atGate({ manifest: manifest({ template: 'standard', riskTier: 'high' }) });
    expect((await s.attempt(lifecycle, decision(people.ana))).verdict).toEqual({ status: 'counted', approvals: 1, quorum: 2, missingGroups: [] });
    expect((await s.status(lifecycle)).gate).toMatchObject({ approvals: ['ana'], quorum: 2 });
    expect((await s.attempt(lifecycle, decision(people.ana))).verdict).toEqual({ status: 'refused', reason: 'duplicate-approver' });
    expect((await s.attempt(lifecycle, decision(people.bo))).verdict).toEqual({ status: 'accepted', decision: 'approve' });
    expect((await s.fakes.transition(lifecycle.workflowId, 'approval:passed')).detail).toMatchObject({ approvers: ['ana', 'bo'] });
    // A high-risk tier then goes through a day of shadow traffic.
    await s.fakes.transition(lifecycle.workflowId, 'deploy/shadow:entered');
  });

  it('counts a retried attempt (same attempt id) once', async () => {
    const { lifecycle } = await atGate({ manifest: manifest({ template: 'standard', riskTier: 'high' }) });
    const first = decision(people.ana);
    await s.attempt(lifecycle, first);
    await lifecycle.signal(approvalSignal, first);
    // Signals are handled in order: once bo's verdict is on record, the retry has been handled too.
    await s.attempt(lifecycle, decision(people.bo));
    expect(s.fakes.callsOf('recordApprovalAttempt', lifecycle.workflowId).map((c) => c.input.seq)).toEqual([1, 2]);
    expect((await s.fakes.transition(lifecycle.workflowId, 'approval:passed')).detail).toMatchObject({ approvers: ['ana', 'bo'] });
  });

  it('with requireEveryGroup, waits for every group even when the quorum is reached', async () => {
    const policy = policyWith({ groups: ['risk', 'compliance'], quorum: 2, requireEveryGroup: true });
    const { lifecycle } = await atGate({ manifest: manifest(), policy });
    expect((await s.status(lifecycle)).template).toBe('inline');
    expect((await s.attempt(lifecycle, decision(people.ana))).verdict).toEqual({ status: 'counted', approvals: 1, quorum: 2, missingGroups: ['compliance'] });
    expect((await s.attempt(lifecycle, decision(people.bo))).verdict).toEqual({ status: 'counted', approvals: 2, quorum: 2, missingGroups: ['compliance'] });
    expect((await s.attempt(lifecycle, decision(people.lou))).verdict).toEqual({ status: 'accepted', decision: 'approve' });
    expect((await s.fakes.transition(lifecycle.workflowId, 'approval:passed')).detail).toMatchObject({ approvers: ['ana', 'bo', 'lou'] });
  });

  it('with requireEveryGroup, lets one approver stand for every group they belong to', async () => {
    const policy = policyWith({ groups: ['risk', 'compliance'], quorum: 2, requireEveryGroup: true });
    const { lifecycle } = await atGate({ manifest: manifest(), policy });
    expect((await s.attempt(lifecycle, decision(people.kim))).verdict).toEqual({ status: 'counted', approvals: 1, quorum: 2, missingGroups: [] });
    expect((await s.attempt(lifecycle, decision(people.ana))).verdict).toEqual({ status: 'accepted', decision: 'approve' });
  });
});

describe('separation of duties', () => {
  it('refuses the registrant even with an approver role, and anyone outside the gate’s groups', async () => {
    const erinApproves: Principal = { ...people.erin, roles: ['engineer', 'approver:risk'] };
    const { lifecycle } = await atGate({ manifest: manifest({ template: 'standard' }), registeredBy: erinApproves });
    expect((await s.attempt(lifecycle, decision(erinApproves))).verdict).toEqual({ status: 'refused', reason: 'separation-of-duties' });
    expect((await s.attempt(lifecycle, decision(people.biz))).verdict).toEqual({ status: 'refused', reason: 'role-not-allowed' });
    expect((await s.attempt(lifecycle, decision(people.auditor, 'reject', 'looks wrong'))).verdict).toEqual({ status: 'refused', reason: 'role-not-allowed' });
    // Refused attempts leave the gate as it was, and are on record with who tried.
    expect((await s.status(lifecycle)).gate).toMatchObject({ approvals: [] });
    expect(s.fakes.callsOf('recordApprovalAttempt', lifecycle.workflowId).map((c) => (c.input.attempt as { request: { principal: Principal } }).request.principal.id)).toEqual([
      'erin',
      'biz',
      'aud',
    ]);
  });

  it('refuses the authors a version carries (a retrained version’s ancestors’ registrants)', async () => {
    const { lifecycle } = await atGate({ manifest: manifest({ template: 'standard' }), authors: [people.ana] });
    expect(s.fakes.transitions(lifecycle.workflowId).at(-1)?.detail).toMatchObject({ authors: ['erin', 'ana'] });
    expect((await s.attempt(lifecycle, decision(people.ana))).verdict).toEqual({ status: 'refused', reason: 'separation-of-duties' });
    expect((await s.attempt(lifecycle, decision(people.bo))).verdict).toEqual({ status: 'accepted', decision: 'approve' });
  });

  it('with excludeOwningTeam, refuses the manifest’s team and every team the registrant authenticated with', async () => {
    const erin: Principal = { ...people.erin, teams: ['credit-risk', 'retail-lending'] };
    const rae: Principal = { id: 'rae', roles: ['approver:risk'], teams: ['retail-lending'] };
    const { lifecycle } = await atGate({ manifest: manifest({ template: 'high-risk', team: 'credit-risk' }), registeredBy: erin });
    expect(s.fakes.transitions(lifecycle.workflowId).at(-1)?.detail).toMatchObject({
      groups: ['risk'],
      quorum: 2,
      excludeOwningTeam: true,
      owningTeams: ['credit-risk', 'retail-lending'],
    });
    expect((await s.attempt(lifecycle, decision(people.cy))).verdict).toEqual({ status: 'refused', reason: 'separation-of-duties' });
    expect((await s.attempt(lifecycle, decision(rae))).verdict).toEqual({ status: 'refused', reason: 'separation-of-duties' });
    expect((await s.attempt(lifecycle, decision(people.ana))).verdict).toMatchObject({ status: 'counted' });
  });
});

describe('attempts out of turn', () => {
  it('refuses an attempt that arrives before the lifecycle is even registered, and records it once it is', async () => {
    const m = manifest({ template: 'standard' });
    const early = decision(people.ana);
    // Signal-with-start: the attempt is in the lifecycle's very first activation.
    const { env, taskQueue } = s.stack;
    await env.client.workflow.signalWithStart('modelLifecycle', {
      taskQueue,
      workflowId: `model-version:${m.name}@${m.version}`,
      args: [{ manifest: m, registeredBy: people.erin, template: 'standard@1' }],
      signal: approvalSignal,
      signalArgs: [early],
    });
    const lifecycle = s.handle(`model-version:${m.name}@${m.version}`);
    await s.fakes.transition(lifecycle.workflowId, 'approval:entered');
    const calls = s.fakes.calls.filter((c) => c.workflowId === lifecycle.workflowId).map((c) => c.activity);
    // The attempt's projection waits for the catalog row it references.
    expect(calls.indexOf('recordApprovalAttempt')).toBeGreaterThan(calls.indexOf('registerVersion'));
    const [refused] = s.fakes.callsOf('recordApprovalAttempt', lifecycle.workflowId);
    expect(refused?.input.attempt).toMatchObject({ stage: 'register', verdict: { status: 'refused', reason: 'wrong-stage' } });
    // It did not count: the same approver decides the gate once it is open.
    expect((await s.attempt(lifecycle, decision(people.ana))).verdict).toEqual({ status: 'accepted', decision: 'approve' });
  });

  it('refuses an attempt during the automated gates and after the gate has closed', async () => {
    const m = manifest({ template: 'standard' });
    const held = s.fakes.hold('the test gate’s record', (c) => c.activity === 'recordStage' && c.input.stage === 'test' && c.workflowId.includes(m.name));
    const lifecycle = await s.start({ manifest: m });
    await held.reached;
    const during = decision(people.ana);
    await lifecycle.signal(approvalSignal, during);
    held.release();
    const recorded = await s.fakes.waitFor('the attempt during the test gate', (c) => c.activity === 'recordApprovalAttempt' && c.workflowId === lifecycle.workflowId);
    expect(recorded.input.attempt).toMatchObject({ stage: 'test', verdict: { status: 'refused', reason: 'wrong-stage' } });

    await s.fakes.transition(lifecycle.workflowId, 'approval:entered');
    expect((await s.attempt(lifecycle, decision(people.ana))).verdict).toEqual({ status: 'accepted', decision: 'approve' });
    await s.fakes.transition(lifecycle.workflowId, 'monitor:passed');
    expect(await s.attempt(lifecycle, decision(people.bo))).toMatchObject({ stage: 'monitor', verdict: { status: 'refused', reason: 'wrong-stage' } });
  });
});

describe('deadline', () => {
  it('reminds, notifies the escalation group and rejects at a 10-day timeout, skipped in milliseconds', async () => {
    const started = Date.now();
    const { lifecycle, opened } = await atGate({ manifest: manifest({ template: 'high-risk' }) });
    const deadline = iso(opened + 10 * DAY);
    expect((await s.status(lifecycle)).gate).toMatchObject({ quorum: 2, deadline });
    await s.attempt(lifecycle, decision(people.ana));

    await s.skip('3 days');
    const reminder = await s.fakes.waitFor('the 3-day reminder', (c) => c.activity === 'publishEvent' && c.workflowId === lifecycle.workflowId);
    expect(reminder.input).toMatchObject({ id: `${lifecycle.workflowId}/reminder-0`, type: 'approval.reminder', data: { groups: ['risk'], approvals: 1, deadline } });
    onTime(reminder.input.at, opened + 3 * DAY);

    await s.skip('4 days');
    const notice = await s.fakes.waitFor('the 7-day escalation notice', (c) => c.activity === 'publishEvent' && c.input.type === 'approval.escalation' && c.workflowId === lifecycle.workflowId);
    expect(notice.input).toMatchObject({ id: `${lifecycle.workflowId}/escalation-notice`, data: { group: 'cro', approvals: 1, deadline } });
    onTime(notice.input.at, opened + 7 * DAY);
    // A notice, not a hand-over: the gate's groups are unchanged.
    expect((await s.status(lifecycle)).gate).toMatchObject({ eligibleGroups: ['risk'], approvals: ['ana'] });

    const result = await s.result(lifecycle);
    expect(result).toEqual({ modelVersionId: lifecycle.modelVersionId, endedBy: 'expired', reason: 'no decision before the approval deadline' });
    const expired = s.fakes.transitions(lifecycle.workflowId).find((t) => t.outcome === 'expired');
    expect(expired).toMatchObject({ stage: 'approval', actor: 'steward', detail: { deadline, approvals: ['ana'] } });
    onTime(expired?.at, opened + 10 * DAY);
    expect(s.fakes.events(lifecycle.workflowId).map((e) => e.type)).toEqual(['approval.reminder', 'approval.escalation']);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('hands the gate to the escalation group at the timeout, where its approver decides', async () => {
    const policy = policyWith({ deadline: { timeoutMs: 2 * DAY, remindAfterMs: [DAY], escalateAfterMs: null, escalationGroup: null, onTimeout: { action: 'escalate', group: 'cro', extraMs: DAY } } });
    const { lifecycle, opened } = await atGate({ manifest: manifest(), policy });
    await s.skip('2 days');
    const escalated = await s.fakes.transition(lifecycle.workflowId, 'approval:escalated');
    onTime(escalated.at, opened + 2 * DAY);
    // The escalation group gets a day from the moment it is handed the gate.
    const extended = iso(Date.parse(escalated.at) + DAY);
    expect(escalated.detail).toMatchObject({ groups: ['cro'], quorum: 1, deadline: extended });
    expect((await s.status(lifecycle)).gate).toMatchObject({ eligibleGroups: ['cro'], deadline: extended });
    const events = s.fakes.events(lifecycle.workflowId);
    expect(events).toMatchObject([{ type: 'approval.reminder' }]);
    onTime(events[0]?.at, opened + DAY);

    expect((await s.attempt(lifecycle, decision(people.ana))).verdict).toEqual({ status: 'refused', reason: 'role-not-allowed' });
    expect((await s.attempt(lifecycle, decision(people.dee))).verdict).toEqual({ status: 'accepted', decision: 'approve' });
    expect(await s.fakes.transition(lifecycle.workflowId, 'approval:passed')).toMatchObject({ actor: 'dee', detail: { approvers: ['dee'] } });
    await s.fakes.transition(lifecycle.workflowId, 'monitor:passed');
  });

  it('rejects when the escalation group does not decide within its extra time either', async () => {
    const policy = policyWith({ deadline: { timeoutMs: 2 * DAY, remindAfterMs: [], escalateAfterMs: null, escalationGroup: null, onTimeout: { action: 'escalate', group: 'cro', extraMs: DAY } } });
    const { lifecycle, opened } = await atGate({ manifest: manifest(), policy });
    expect(await s.result(lifecycle)).toMatchObject({ endedBy: 'expired' });
    expect(s.fakes.path(lifecycle.workflowId).slice(-3)).toEqual(['approval:escalated', 'approval:expired', 'retire:completed']);
    onTime(s.fakes.transitions(lifecycle.workflowId).at(-2)?.at, opened + 3 * DAY);
  });
});

describe('requests during the gate', () => {
  it('refuses a retrain and a promotion on record, naming why, and keeps the gate open', async () => {
    const { lifecycle } = await atGate({ manifest: manifest({ template: 'standard' }) });
    await lifecycle.signal(retrainSignal, { requestedBy: people.erin, reason: 'new data' });
    await lifecycle.signal(promoteSignal, { requestedBy: people.ana, reason: 'looks fine' });
    await lifecycle.signal(retrainSignal, { requestedBy: people.erin, reason: 'again', refused: 'the API refused it: not in the monitor stage' });
    await s.fakes.transition(lifecycle.workflowId, 'approval/request:refused', { nth: 3 });
    expect(s.fakes.transitions(lifecycle.workflowId).filter((t) => t.outcome === 'refused')).toMatchObject([
      { stage: 'approval', actor: 'erin', detail: { request: 'retrain', reason: 'new data', problem: 'only a version in the monitor stage can be retrained (stage approval)' } },
      { stage: 'approval', actor: 'ana', detail: { request: 'promote', reason: 'looks fine', problem: 'no shadow or canary phase is under way (stage approval)' } },
      { stage: 'approval', actor: 'erin', detail: { request: 'retrain', reason: 'again', problem: 'the API refused it: not in the monitor stage' } },
    ]);
    expect((await s.status(lifecycle)).gate).not.toBeNull();
  });

  it('cancels the gate on a retire, with the approvals counted so far on record', async () => {
    const { lifecycle } = await atGate({ manifest: manifest({ template: 'high-risk' }) });
    await s.attempt(lifecycle, decision(people.ana));
    const result = await s.retire(lifecycle, people.erin, 'superseded by a vendor model');
    expect(result).toEqual({ modelVersionId: lifecycle.modelVersionId, endedBy: 'retired', reason: 'superseded by a vendor model' });
    expect(s.fakes.path(lifecycle.workflowId).slice(-2)).toEqual(['approval:cancelled', 'retire:completed']);
    expect(s.fakes.transitions(lifecycle.workflowId).at(-2)).toMatchObject({ actor: 'erin', detail: { reason: 'superseded by a vendor model', approvals: ['ana'] } });
    expect(s.fakes.callsOf('deployVersion', lifecycle.workflowId)).toEqual([]);
  });
});
