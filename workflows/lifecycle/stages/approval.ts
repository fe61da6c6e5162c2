import { condition, setHandler } from '@temporalio/workflow';
import { gateTimers, judgeAttempt, openGate, type GateState } from '../../../core/approval.js';
import type { ApprovalAttempt } from '../../../core/approval.js';
import type { LifecycleCheckpoint, Stop } from '../../../core/lifecycle.js';
import { defaultApprovalPolicy } from '../../../core/policy.js';
import type { ApprovalStep } from '../../dsl/plan.js';
import { approvalSignal } from '../../messages.js';
import { activities, STEWARD } from '../proxies.js';
import type { LifecycleContext } from '../context.js';
import { retiredBy } from './retire.js';

/** The status query keeps the latest attempts; every attempt is in history and the catalog regardless. */
const APPROVALS_KEPT_IN_STATE = 50;

/** Approval attempts (all, carried across runs) and the gate under way. */
export interface ApprovalSlice {
  attempts: ApprovalAttempt[];
  /** Position of the next attempt across the lifecycle. */
  seq: number;
  /** null until the lifecycle reaches a gate; closed once decided or expired. */
  gate: GateState | null;
  step: ApprovalStep | null;
  decision: ApprovalAttempt | null;
  deadline: string | null;
  /** Attempt ids judged in this run: a retried request is judged and recorded once. */
  readonly seen: Set<string>;
}

export function approvalSlice(resume: LifecycleCheckpoint | undefined): ApprovalSlice {
  return { attempts: [...(resume?.approvals ?? [])], seq: resume?.approvalSeq ?? 0, gate: null, step: null, decision: null, deadline: null, seen: new Set() };
}

export function handle(ctx: LifecycleContext): void {
  const { state } = ctx;
  const slice = state.approval;
  setHandler(approvalSignal, async (request) => {
    if (slice.seen.has(request.attemptId) || slice.attempts.some((a) => a.request.attemptId === request.attemptId)) return;
    slice.seen.add(request.attemptId);
    const judged = judgeAttempt(slice.gate, request, { policy: slice.step?.policy ?? defaultApprovalPolicy, ...ctx.duties });
    slice.gate = judged.gate;
    const attempt: ApprovalAttempt = { request, at: ctx.now(), stage: state.stage, verdict: judged.verdict };
    slice.seq += 1;
    const seq = slice.seq;
    slice.attempts = [...slice.attempts, attempt].slice(-APPROVALS_KEPT_IN_STATE);
    if (attempt.verdict.status === 'accepted') slice.decision = attempt;
    // Awaiting only when needed keeps the command order of recorded histories (replay safety).
    if (!state.registered) await condition(() => state.registered);
    await activities.recordApprovalAttempt({ workflowId: ctx.workflowId, modelVersionId: ctx.versionId, seq, attempt });
  });
}

/**
 * Waits for the approvers: a quorum of distinct eligible approvers passes the gate, one rejection ends it.
 * With a deadline, durable timers remind the approvers, notify the escalation group, and at the timeout
 * reject or hand the gate to another group.
 */
export async function run(ctx: LifecycleContext, step: ApprovalStep): Promise<Stop | null> {
  const { policy, name } = step;
  const slice = ctx.state.approval;
  const retire = ctx.state.retire;
  ctx.enter('approval');
  slice.step = step;
  slice.decision = null;
  let gate = (slice.gate = openGate(policy));
  const setGate = (next: GateState) => (gate = slice.gate = next);
  const opened = Date.now();
  const { deadline } = policy;
  slice.deadline = deadline ? new Date(opened + deadline.timeoutMs).toISOString() : null;
  /** The gate is decided, expired, or (histories recorded since) withdrawn by a retire request. */
  const settled = () => !slice.gate!.open || (ctx.requestsAnswered && retire.pending !== null);
  const { duties } = ctx;
  // Who the gate shuts out, on every record that (re)opens it, so the approvals inbox shows the gate only to
  // people it would count, before and after an escalation.
  const shutOut = { excludeOwningTeam: policy.excludeOwningTeam, authors: duties.authors, ...(policy.excludeOwningTeam ? { owningTeams: duties.owningTeams } : {}) };
  // Waiting on people: recorded on entry too, so the catalog (and the inbox built on it) shows who waits.
  await ctx.record(
    {
      stage: 'approval',
      step: name,
      outcome: 'entered',
      detail: {
        groups: policy.groups,
        quorum: policy.quorum,
        requireEveryGroup: policy.requireEveryGroup,
        deadline: slice.deadline,
        ...shutOut,
      },
    },
    STEWARD,
  );

  let expiresAt = deadline ? opened + deadline.timeoutMs : null;
  let escalated = false;
  for (const timer of gateTimers(policy)) {
    const at = timer.kind === 'timeout' ? expiresAt! : opened + timer.atMs;
    if (await condition(settled, Math.max(at - Date.now(), 0))) break;
    gate = slice.gate!;
    if (timer.kind === 'reminder') {
      await ctx.notify(`${prefix(ctx, name)}reminder-${timer.index}`, 'approval.reminder', { groups: gate.eligibleGroups, approvals: gate.counted.length, deadline: slice.deadline });
    } else if (timer.kind === 'escalation-notice') {
      await ctx.notify(`${prefix(ctx, name)}escalation-notice`, 'approval.escalation', { group: timer.group, approvals: gate.counted.length, deadline: slice.deadline });
    } else if (deadline!.onTimeout.action === 'escalate' && !escalated) {
      // Hand the gate to the escalation group for a last stretch; approvals already counted still count.
      escalated = true;
      expiresAt = Date.now() + deadline!.onTimeout.extraMs;
      slice.deadline = new Date(expiresAt).toISOString();
      setGate({ ...gate, eligibleGroups: [deadline!.onTimeout.group] });
      await ctx.record(
        { stage: 'approval', step: name, outcome: 'escalated', detail: { groups: gate.eligibleGroups, quorum: policy.quorum, deadline: slice.deadline, ...shutOut } },
        STEWARD,
      );
      if (await condition(settled, Math.max(expiresAt - Date.now(), 0))) break;
      setGate({ ...slice.gate!, open: false, expired: true });
    } else {
      setGate({ ...gate, open: false, expired: true });
    }
  }
  await condition(settled);
  gate = slice.gate!;

  const approvers = () => gate.counted.map((c) => c.principal);
  if (gate.open) {
    // Retired while waiting on people: attempts from now on find the gate closed and are refused.
    setGate({ ...gate, open: false });
    const request = retire.pending!;
    await ctx.record({ stage: 'approval', step: name, outcome: 'cancelled', detail: { reason: request.reason, approvals: approvers() } }, request.requestedBy.id);
    return retiredBy(request);
  }
  // Set by the signal handler meanwhile (the compiler cannot see that).
  const decided = slice.decision as ApprovalAttempt | null;
  if (!decided) {
    await ctx.record({ stage: 'approval', step: name, outcome: 'expired', detail: { deadline: slice.deadline, approvals: approvers() } }, STEWARD);
    return { endedBy: 'expired', reason: 'no decision before the approval deadline', actor: STEWARD };
  }
  const { principal, comment, decision } = decided.request;
  const approved = decision === 'approve';
  await ctx.record(
    { stage: 'approval', step: name, outcome: approved ? 'passed' : 'rejected', detail: { decision, comment, roles: principal.roles, approvers: approved ? approvers() : [] } },
    principal.id,
  );
  return approved ? null : { endedBy: 'rejected', reason: comment || 'rejected by approver', actor: principal.id };
}

/** Event ids of the first approval gate keep their recorded form; later gates are told apart by name. */
function prefix(ctx: LifecycleContext, step: string): string {
  return ctx.plan.gates.find((g) => g.kind === 'approval')?.name === step ? '' : `${step}/`;
}
