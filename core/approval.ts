import type { ApprovalPolicy } from './policy.js';
import { approverGroups, type Principal } from './principal.js';
import type { Stage } from './stages.js';

export type ApprovalDecision = 'approve' | 'reject';

export interface ApprovalRequest {
  /** Correlates the API call with its verdict; a repeated id is the same attempt and is not counted twice. */
  readonly attemptId: string;
  readonly decision: ApprovalDecision;
  /** The authenticated caller, as the API resolved it. Never taken from the request body. */
  readonly principal: Principal;
  readonly comment: string;
}

export type RefusalReason =
  | 'wrong-stage'
  | 'gate-expired'
  | 'role-not-allowed'
  | 'separation-of-duties'
  | 'duplicate-approver'
  | 'reason-required';

/**
 * The verdict on one approval attempt; every attempt, refused or not, gets one. `accepted` decided the gate;
 * `counted` was counted toward a quorum not yet reached.
 */
export type ApprovalVerdict =
  | { readonly status: 'accepted'; readonly decision: ApprovalDecision }
  | { readonly status: 'counted'; readonly approvals: number; readonly quorum: number; readonly missingGroups: readonly string[] }
  | { readonly status: 'refused'; readonly reason: RefusalReason };

export interface ApprovalAttempt {
  readonly request: ApprovalRequest;
  readonly at: string;
  readonly stage: Stage;
  readonly verdict: ApprovalVerdict;
}

/**
 * The approval gate's rules, as pure functions over its state, shared by the lifecycle and the policy
 * preview, and tested on their own. Deterministic: no clock, no I/O.
 */
export interface CountedApproval {
  readonly principal: string;
  /** The eligible groups this approver stood for. */
  readonly groups: readonly string[];
}

export interface GateState {
  readonly open: boolean;
  readonly eligibleGroups: readonly string[];
  readonly counted: readonly CountedApproval[];
  /** Set once the deadline has closed the gate. */
  readonly expired: boolean;
}

export interface GateContext {
  readonly policy: ApprovalPolicy;
  /** Everyone whose work the version carries: they may never approve it. */
  readonly authors: readonly string[];
  /** Teams a gate with `excludeOwningTeam` shuts out. */
  readonly owningTeams: readonly string[];
}

/** What a lifecycle's start input says about who authored the version. */
export interface Authorship {
  readonly manifest: { readonly team: string };
  readonly registeredBy: Principal;
  /** Registrants of the ancestors whose artifacts a retrained version reuses; absent before retrains carried them. */
  readonly authors?: readonly Principal[];
}

/**
 * Separation of duties from the start input. The registrant and every author are shut out; owning teams
 * are the ones the authors authenticated with, not only the team the manifest declares (a registrant could
 * declare any team). `authenticatedTeams: false` is the rule histories recorded before it were judged by.
 */
export function dutiesOf(input: Authorship, { authenticatedTeams }: { authenticatedTeams: boolean }): Omit<GateContext, 'policy'> {
  const people = [input.registeredBy, ...(input.authors ?? [])];
  return {
    authors: [...new Set(people.map((p) => p.id))],
    owningTeams: authenticatedTeams ? [...new Set([input.manifest.team, ...people.flatMap((p) => p.teams ?? [])])] : [input.manifest.team],
  };
}

export function openGate(policy: ApprovalPolicy): GateState {
  return { open: true, eligibleGroups: [...policy.groups], counted: [], expired: false };
}

export function missingGroups(gate: GateState, policy: ApprovalPolicy): string[] {
  if (!policy.requireEveryGroup) return [];
  return gate.eligibleGroups.filter((g) => !gate.counted.some((c) => c.groups.includes(g)));
}

function quorumMet(gate: GateState, policy: ApprovalPolicy): boolean {
  return gate.counted.length >= policy.quorum && missingGroups(gate, policy).length === 0;
}

/**
 * Judges one attempt. Returns the verdict and the gate after it; a refused attempt leaves the gate unchanged.
 * `accepted` means the attempt decided the gate (quorum reached, or a rejection); `counted` means it was
 * counted toward a quorum that is not yet reached.
 */
export function judgeAttempt(gate: GateState | null, request: ApprovalRequest, ctx: GateContext): { verdict: ApprovalVerdict; gate: GateState | null } {
  const refuse = (reason: Extract<ApprovalVerdict, { status: 'refused' }>['reason']) => ({ verdict: { status: 'refused' as const, reason }, gate });
  if (!gate || !gate.open) return refuse(gate?.expired ? 'gate-expired' : 'wrong-stage');
  const { principal } = request;
  if (ctx.authors.includes(principal.id)) return refuse('separation-of-duties');
  const groups = approverGroups(principal).filter((g) => gate.eligibleGroups.includes(g));
  if (groups.length === 0) return refuse('role-not-allowed');
  if (ctx.policy.excludeOwningTeam && (principal.teams ?? []).some((t) => ctx.owningTeams.includes(t))) return refuse('separation-of-duties');

  if (request.decision === 'reject') {
    if (!request.comment.trim()) return refuse('reason-required');
    return { verdict: { status: 'accepted', decision: 'reject' }, gate: { ...gate, open: false } };
  }
  if (gate.counted.some((c) => c.principal === principal.id)) return refuse('duplicate-approver');
  const next: GateState = { ...gate, counted: [...gate.counted, { principal: principal.id, groups }] };
  if (quorumMet(next, ctx.policy)) return { verdict: { status: 'accepted', decision: 'approve' }, gate: { ...next, open: false } };
  return {
    verdict: { status: 'counted', approvals: next.counted.length, quorum: ctx.policy.quorum, missingGroups: missingGroups(next, ctx.policy) },
    gate: next,
  };
}

/** A notification or decision the gate's deadline schedules, at an offset from the gate opening. */
export type GateTimer =
  | { readonly kind: 'reminder'; readonly atMs: number; readonly index: number }
  | { readonly kind: 'escalation-notice'; readonly atMs: number; readonly group: string }
  | { readonly kind: 'timeout'; readonly atMs: number };

export function gateTimers(policy: ApprovalPolicy): GateTimer[] {
  const d = policy.deadline;
  if (!d) return [];
  const timers: GateTimer[] = [
    ...d.remindAfterMs.map((atMs, index) => ({ kind: 'reminder' as const, atMs, index })),
    ...(d.escalateAfterMs !== null && d.escalationGroup ? [{ kind: 'escalation-notice' as const, atMs: d.escalateAfterMs, group: d.escalationGroup }] : []),
    { kind: 'timeout' as const, atMs: d.timeoutMs },
  ];
  // Notifications at or after the timeout would never be useful.
  return timers.filter((t) => t.kind === 'timeout' || t.atMs < d.timeoutMs).sort((a, b) => a.atMs - b.atMs);
}
