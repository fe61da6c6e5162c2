import type { AlertState } from './alerts.js';
import type { ApprovalAttempt } from './approval.js';
import type { Deployment, DeployPhaseStatus } from './deployment.js';
import type { Artifact, ModelManifest } from './manifest.js';
import type { DriftStatus, Observation } from './observation.js';
import type { LifecyclePolicy } from './policy.js';
import type { Principal } from './principal.js';
import type { Stage } from './stages.js';
import type { RetrainTrigger, TrainingLineage } from './training.js';

/** The lifecycle's inputs, outputs, requests and checkpoint: what the workflow, the API and the audit share. */

/** A retrained version's link to the version it was retrained from. */
export interface Lineage {
  readonly parentWorkflowId: string;
  readonly parentModelVersionId: string;
  readonly reason: string;
  /** What started the retrain; absent in children started before every retrain carried it (training only, then). */
  readonly trigger?: RetrainTrigger;
  /** How the version was trained (runner, run, training data, log); absent when it reuses its parent's artifacts. */
  readonly training?: TrainingLineage;
}

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
  /** What started it; absent for manual requests and for requests recorded before triggers were carried. */
  readonly trigger?: RetrainTrigger;
}

export interface RetireRequest {
  readonly requestedBy: Principal;
  readonly reason: string;
}

/** Cuts a deployment phase (shadow, canary) short: the lifecycle moves to the next phase at once. */
export interface PromoteRequest extends RefusedByApi {
  readonly requestedBy: Principal;
  readonly reason: string;
}

/** Ends a deployment phase (shadow, canary) now and rolls the candidate back; the champion keeps serving. */
export interface RollbackRequest extends RefusedByApi {
  readonly requestedBy: Principal;
  readonly reason: string;
}

/** Sent by a retrained successor once it is deployed in this version's place. */
export interface SupersededNotice {
  readonly successorWorkflowId: string;
  readonly successorVersion: string;
}

export interface Successor {
  readonly workflowId: string;
  readonly version: string;
}

/** Where a run of the monitor loop hands over to the next one at continue-as-new. */
export interface LifecycleCheckpoint {
  readonly seq: number;
  readonly approvalSeq: number;
  readonly run: number;
  readonly stage: Extract<Stage, 'monitor' | 'retrain'>;
  readonly monitorCycles: number;
  readonly deployment: Deployment;
  readonly approvals: readonly ApprovalAttempt[];
  readonly successor: Successor | null;
  readonly pendingRetrain: RetrainRequest | null;
  readonly pendingRetire: RetireRequest | null;
  readonly superseded: SupersededNotice | null;
  /** Observed windows not yet judged; absent in checkpoints recorded before observations existed. */
  readonly pendingWindows?: readonly Observation[];
  /** The last drift verdict; absent in checkpoints recorded before drift was computed. */
  readonly lastDrift?: DriftStatus;
  /**
   * Ids of the windows seen most recently (bounded), so a report retried after continue-as-new is still
   * judged once; absent in checkpoints recorded before it was carried.
   */
  readonly recentWindowIds?: readonly string[];
  /** The alert policy's streak and last alert; absent before alert policies and while nothing breaches. */
  readonly alerts?: AlertState;
  /** Windows whose labels changed and whose performance is due; absent before labels. */
  readonly pendingLabelWindows?: readonly string[];
  /** When the last retrain began; absent before scheduled retrains (and when there was none). */
  readonly lastRetrainAt?: string;
  /** The version of the last successor that lost its challenge: the next retrain numbers past it. */
  readonly lastLostVersion?: string;
}
/** The name recorded histories' code used. */
export type MonitorCheckpoint = LifecycleCheckpoint;

interface LifecycleInputBase {
  readonly manifest: ModelManifest;
  readonly registeredBy: Principal;
  /**
   * Besides the registrant, whoever authored what this version carries: a retrained version lists the
   * registrants of the ancestors whose artifacts it reuses. None of them may approve it.
   */
  readonly authors?: readonly Principal[];
  readonly lineage?: Lineage;
  /** Set only by continue-as-new. */
  readonly resume?: LifecycleCheckpoint;
}

/**
 * A lifecycle runs one template version, named exactly (`high-risk@1`) so that replay uses the same logic.
 * A bare `policy` is what lifecycles recorded before templates carried, and what ad-hoc development runs use.
 */
export type LifecycleInput = LifecycleInputBase &
  ({ readonly template: string; readonly policy?: undefined } | { readonly policy: LifecyclePolicy; readonly template?: undefined });

export type EndedBy = 'failed-test' | 'failed-scan' | 'rejected' | 'expired' | 'rolled-back' | 'superseded' | 'retired' | 'end-of-life';

export interface LifecycleResult {
  readonly modelVersionId: string;
  readonly endedBy: EndedBy;
  readonly reason: string;
}

export type ModelLifecycle = (input: LifecycleInput) => Promise<LifecycleResult>;

/** The lineage summary a retirement records: where the version came from, what it carried, what replaced it. */
export interface RetiredLineage {
  readonly parent: string | null;
  readonly trigger: string | null;
  readonly artifacts: readonly string[];
  readonly trainingData: readonly string[];
  readonly deployedSince: string | null;
  readonly successor: string | null;
}

/** A stage that did not pass: how the lifecycle ends and on whose word. */
export interface Stop {
  readonly endedBy: EndedBy;
  readonly reason: string;
  readonly actor: string;
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
  readonly phase: DeployPhaseStatus | null;
  readonly successor: Successor | null;
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
