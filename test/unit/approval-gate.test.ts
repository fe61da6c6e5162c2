import { describe, expect, it } from 'vitest';
import { defaultApprovalPolicy, type ApprovalPolicy } from '../../core/policy.js';
import type { Principal } from '../../core/principal.js';
import { dutiesOf, gateTimers, judgeAttempt, openGate, type GateState } from '../../workflows/approval-gate.js';
import type { ApprovalRequest } from '../../workflows/messages.js';

const registrant: Principal = { id: 'erin', roles: ['engineer', 'approver:risk'], teams: ['credit'] };
const ask = (principal: Principal, decision: 'approve' | 'reject' = 'approve', comment = 'ok'): ApprovalRequest => ({ attemptId: `${principal.id}-${decision}`, decision, comment, principal });
const risk = (id: string, teams: string[] = []): Principal => ({ id, roles: ['approver:risk'], teams });

describe('the approval gate rules', () => {
  const ctx = (policy: Partial<ApprovalPolicy> = {}) => ({ policy: { ...defaultApprovalPolicy, ...policy }, authors: [registrant.id], owningTeams: ['credit'] });

  it('refuses everything while no gate is open, and says so once the gate expired', () => {
    expect(judgeAttempt(null, ask(risk('rita')), ctx()).verdict).toEqual({ status: 'refused', reason: 'wrong-stage' });
    const expired: GateState = { ...openGate(defaultApprovalPolicy), open: false, expired: true };
    expect(judgeAttempt(expired, ask(risk('rita')), ctx()).verdict).toEqual({ status: 'refused', reason: 'gate-expired' });
  });

  it('leaves the gate untouched when refusing', () => {
    const gate = openGate(defaultApprovalPolicy);
    const judged = judgeAttempt(gate, ask(registrant), ctx());
    expect(judged.verdict).toEqual({ status: 'refused', reason: 'separation-of-duties' });
    expect(judged.gate).toBe(gate);
  });

  it('counts distinct approvers until the quorum and required groups are met', () => {
    const policy = { groups: ['risk', 'compliance'], quorum: 2, requireEveryGroup: true };
    let gate: GateState | null = openGate({ ...defaultApprovalPolicy, ...policy });
    const step = (p: Principal) => {
      const j = judgeAttempt(gate, ask(p), ctx(policy));
      gate = j.gate;
      return j.verdict;
    };
    expect(step(risk('rita'))).toEqual({ status: 'counted', approvals: 1, quorum: 2, missingGroups: ['compliance'] });
    expect(step(risk('rita'))).toEqual({ status: 'refused', reason: 'duplicate-approver' });
    expect(step(risk('raj'))).toEqual({ status: 'counted', approvals: 2, quorum: 2, missingGroups: ['compliance'] });
    expect(step({ id: 'cora', roles: ['approver:compliance'] })).toEqual({ status: 'accepted', decision: 'approve' });
    expect(gate!.open).toBe(false);
  });

  it('refuses the owning team only when the policy excludes it, and a reasonless rejection always', () => {
    const teammate = risk('tom', ['credit']);
    expect(judgeAttempt(openGate(defaultApprovalPolicy), ask(teammate), ctx()).verdict.status).toBe('accepted');
    expect(judgeAttempt(openGate(defaultApprovalPolicy), ask(teammate), ctx({ excludeOwningTeam: true })).verdict).toEqual({ status: 'refused', reason: 'separation-of-duties' });
    expect(judgeAttempt(openGate(defaultApprovalPolicy), ask(risk('rita'), 'reject', '  '), ctx()).verdict).toEqual({ status: 'refused', reason: 'reason-required' });
  });

  it('schedules reminders and escalation before the timeout, and drops any at or after it', () => {
    const timers = gateTimers({
      ...defaultApprovalPolicy,
      deadline: { timeoutMs: 1000, remindAfterMs: [600, 200, 1000], escalateAfterMs: 800, escalationGroup: 'cro', onTimeout: { action: 'reject' } },
    });
    expect(timers.map((t) => `${t.kind}@${t.atMs}`)).toEqual(['reminder@200', 'reminder@600', 'escalation-notice@800', 'timeout@1000']);
    expect(gateTimers(defaultApprovalPolicy)).toEqual([]);
  });

  it('takes separation of duties from the authenticated authors, not from what the manifest declares', () => {
    const eve: Principal = { id: 'eve', roles: ['engineer'], teams: ['platform'] };
    const input = { manifest: { team: 'declared' }, registeredBy: eve, authors: [registrant] };
    expect(dutiesOf(input, { authenticatedTeams: true })).toEqual({ authors: ['eve', 'erin'], owningTeams: ['declared', 'platform', 'credit'] });
    // Histories recorded before the rule keep the declared team only.
    expect(dutiesOf(input, { authenticatedTeams: false })).toEqual({ authors: ['eve', 'erin'], owningTeams: ['declared'] });
    const ctx = { policy: { ...defaultApprovalPolicy, excludeOwningTeam: true }, ...dutiesOf(input, { authenticatedTeams: true }) };
    const gate = openGate(ctx.policy);
    expect(judgeAttempt(gate, ask(registrant), ctx).verdict).toEqual({ status: 'refused', reason: 'separation-of-duties' });
    expect(judgeAttempt(gate, ask(risk('pat', ['platform'])), ctx).verdict).toEqual({ status: 'refused', reason: 'separation-of-duties' });
    expect(judgeAttempt(gate, ask(risk('rita', ['model-risk'])), ctx).verdict).toEqual({ status: 'accepted', decision: 'approve' });
  });
});
