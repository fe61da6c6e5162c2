import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Principal } from '../core/principal.js';
import type { Stage } from '../core/stages.js';
import type { Artifact } from '../core/manifest.js';
import type { Deployment } from '../activities/deployment.js';
import type { DatasetSample } from '../core/drift.js';

/**
 * Messages a lifecycle accepts. Signals, not Updates: a signal is always written to history, so even a
 * refused approval attempt is part of the audit trail (a rejected Update would leave no trace).
 */

export type ApprovalDecision = 'approve' | 'reject';

export interface ApprovalRequest {
  /** Correlates the API call with its verdict; a repeated id is the same attempt and is not counted twice. */
  readonly attemptId: string;
  readonly decision: ApprovalDecision;
  /** The authenticated caller, as the API resolved it. Never taken from the request body. */
  readonly principal: Principal;
  readonly comment: string;
}
export const approvalSignal = defineSignal<[ApprovalRequest]>('approval');

/**
 * A request the API already refused (it answered 409) still reaches the lifecycle, carrying the problem, so
 * that it is on record; the lifecycle records it as refused whatever its stage is by then.
 */
export interface RefusedByApi {
  readonly refused?: string;
}

export interface RetrainRequest extends RefusedByApi {
  readonly requestedBy: Principal;
  readonly reason: string;
  /** A candidate produced outside Steward; without one the successor reuses this version's artifacts. */
  readonly artifacts?: readonly Artifact[];
  readonly metrics?: Readonly<Record<string, number>>;
}
export const retrainSignal = defineSignal<[RetrainRequest]>('retrain');

export interface RetireRequest {
  readonly requestedBy: Principal;
  readonly reason: string;
}
export const retireSignal = defineSignal<[RetireRequest]>('retire');

/** Cuts a deployment phase (shadow, canary) short: the lifecycle moves to the next phase at once. */
export interface PromoteRequest extends RefusedByApi {
  readonly requestedBy: Principal;
  readonly reason: string;
}
export const promoteSignal = defineSignal<[PromoteRequest]>('promote');

/**
 * What the serving side saw in one window: request and error counts and business KPIs. Small numbers only;
 * the lifecycle judges each window against its template's monitor policy and records the verdict.
 */
export interface Observation {
  /** Correlates retries: a repeated id is the same window and is judged once. */
  readonly id: string;
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly requests: number;
  readonly errors: number;
  readonly kpis: Readonly<Record<string, number>>;
  readonly reportedBy: string;
  /** The window's live inputs, compared with the reference dataset for feature drift. */
  readonly sample?: DatasetSample;
}
export const observationSignal = defineSignal<[Observation]>('observation');

/** Sent by a retrained successor once it is deployed in this version's place. */
export interface SupersededNotice {
  readonly successorWorkflowId: string;
  readonly successorVersion: string;
}
export const supersededSignal = defineSignal<[SupersededNotice]>('superseded');

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

/** The last drift verdict: `drifted` or `passed`, or `failed` when the sample could not be compared. */
export interface DriftStatus {
  readonly at: string;
  readonly window: string;
  readonly outcome: 'passed' | 'drifted' | 'failed';
  readonly share: number | null;
  readonly driftedColumns: readonly string[];
}

export interface LifecycleStatus {
  readonly modelVersionId: string;
  /** `name@version` of the template the lifecycle runs, or `inline`. */
  readonly template: string;
  readonly stage: Stage;
  /** 1 for the first run; grows with each continue-as-new of the monitor loop. */
  readonly run: number;
  readonly monitorCycles: number;
  readonly approvals: readonly ApprovalAttempt[];
  readonly deployment: Deployment | null;
  /** The deployment phase under way (shadow, canary) and when it ends on its own. */
  readonly phase: { readonly name: string; readonly mode: 'shadow' | 'canary'; readonly trafficShare: number; readonly until: string } | null;
  readonly successor: { readonly workflowId: string; readonly version: string } | null;
  readonly parentWorkflowId: string | null;
  /** Whether windows' samples are compared with the reference dataset (and if not, why), and the last verdict. */
  readonly drift: { readonly watched: boolean; readonly unwatchedBecause: string | null; readonly last: DriftStatus | null };
  /** The approval gate while it is open: who may still decide and how far the quorum is. */
  readonly gate: {
    readonly eligibleGroups: readonly string[];
    readonly approvals: readonly string[];
    readonly quorum: number;
    readonly deadline: string | null;
  } | null;
}
export const statusQuery = defineQuery<LifecycleStatus>('status');
