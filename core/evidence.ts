import type { ApprovalDecision } from './approval.js';
import type { Deployment, DeployStrategy } from './deployment.js';
import type { DatasetSample, DriftPolicy, DriftSummary } from './drift.js';
import type { EndedBy, RetiredLineage } from './lifecycle.js';
import type { WindowPolicy, WindowRef, WindowVerdict } from './observation.js';
import type { AlertSeverity, BreachKind } from './alerts.js';
import type { PredictionDriftSummary } from './live-monitoring.js';
import type { ChallengeDetail } from './challenge.js';
import { SEVERITIES, type Severity } from './policy.js';
import type { Role } from './principal.js';
import type { Stage } from './stages.js';
import type { RetrainTrigger, TrainedVersion, TrainingLineage, TrainingRunner } from './training.js';

/**
 * What a stage transition records as evidence, one variant per stage and outcome (and, where a stage
 * records several kinds of step, per step). Old histories are decoded with these types too, so a field
 * that earlier generations did not record is optional. Readers narrow on `stage`, `outcome` and `step`
 * instead of casting `detail`.
 */
type Metrics = Readonly<Record<string, number>>;

export type { WindowRef };

export interface RegisteredDetail {
  readonly owner: string;
  readonly riskTier: string;
  readonly artifacts: number;
  readonly parent: string | null;
  /** Absent before templates. */
  readonly template?: string;
}

export interface TestBoundsDetail {
  readonly minMetrics: Metrics;
  /** Absent when the template bounds no metric from above, and before it could. */
  readonly maxMetrics?: Metrics;
  /** `scoring`: the candidate was scored on held-out data (absent: the manifest's declared metrics were judged). */
  readonly method?: 'scoring';
  /** The failed checks, each naming metric, measured value, claim and threshold (at most ten). */
  readonly failures?: readonly string[];
  /** Scoring could not complete (bad dataset, runtime refusing the model): nothing was measured. */
  readonly problem?: string;
}

export type ScanDetail =
  | { readonly maxSeverity: Severity; readonly blockAt: Severity }
  /** The scan ran out of attempts: nothing was verified. */
  | { readonly blockAt: Severity; readonly problem: string };

/** A template's custom stage: its verdict's reason and whatever small detail it adds. */
export type CustomStepDetail = { readonly reason: string } & Readonly<Record<string, unknown>>;

export interface GateOpenedDetail {
  readonly groups: readonly string[];
  /** The fields below are absent in histories recorded before approval policies. */
  readonly quorum?: number;
  readonly requireEveryGroup?: boolean;
  readonly excludeOwningTeam?: boolean;
  readonly deadline?: string | null;
  /** Who the gate shuts out; absent before the gate recorded it. */
  readonly authors?: readonly string[];
  readonly owningTeams?: readonly string[];
}

export interface GateDecidedDetail {
  readonly decision: ApprovalDecision;
  readonly comment: string;
  readonly roles: readonly Role[];
  /** Absent before quorums. */
  readonly approvers?: readonly string[];
}

/** A training run's outputs as Steward fingerprinted them, and the digest of its log in the content store. */
export type TrainedDetail = { readonly reason: string } & Pick<TrainedVersion, 'artifacts' | 'metrics' | 'trainingData' | 'summary' | 'logDigest'>;

export type PhaseEnteredDetail = Deployment & { readonly strategy: 'shadow' | 'canary'; readonly trafficShare: number; readonly until: string };

export type WindowJudgedDetail = WindowVerdict & {
  readonly window: WindowRef;
  readonly requests: number;
  readonly errors: number;
  readonly kpis: Metrics;
  /** The deployment phase the window was observed in. */
  readonly phase?: string;
};

interface DriftAbout {
  readonly window: WindowRef;
  readonly sample: DatasetSample;
  readonly phase?: string;
}

/** A window's performance on its labelled requests; `late` when it replaces an earlier measurement of the window. */
export interface PerformanceDetail {
  readonly window: Pick<WindowRef, 'id'>;
  readonly labelled: number;
  readonly metrics: Readonly<Record<string, number | null>>;
  readonly fairness: Readonly<Record<string, Readonly<Record<string, number | null>>>>;
  readonly breaches: readonly string[];
  readonly skipped: number;
  readonly late?: {
    readonly labelledBefore: number;
    /** Metric → its value before and now, for each metric that changed. */
    readonly changes: Readonly<Record<string, { readonly from: number | null; readonly to: number | null }>>;
  };
}

export interface AlertDetail {
  readonly window: Pick<WindowRef, 'id'>;
  readonly severity: AlertSeverity;
  /** Breaching verdicts in a row, and the kinds of breach among them. */
  readonly streak: number;
  readonly kinds: readonly BreachKind[];
  /** The verdict that raised the alert. */
  readonly breaches: readonly string[];
  /** Whether the alert starts a retrain under the template's policy. */
  readonly retrain: boolean;
}

export type MonitorStartedDetail = {
  readonly intervalMs: number;
  readonly deployment: Deployment | null;
} & Partial<WindowPolicy & { readonly drift: DriftPolicy | null }>;

/** Steps recorded in whatever stage the lifecycle is in when they happen. */
type AnyStage = Stage;

export type TransitionEvidence =
  | { readonly stage: 'register'; readonly step?: undefined; readonly outcome: 'passed'; readonly detail: RegisteredDetail }
  | { readonly stage: 'test'; readonly step?: string; readonly outcome: 'passed' | 'failed'; readonly detail: TestBoundsDetail }
  | { readonly stage: 'scan'; readonly step?: string; readonly outcome: 'passed' | 'failed'; readonly detail: ScanDetail }
  | { readonly stage: AnyStage; readonly step: string; readonly outcome: 'passed' | 'failed'; readonly detail: CustomStepDetail }
  | { readonly stage: AnyStage; readonly step: string; readonly outcome: 'cancelled'; readonly detail: { readonly reason: string; readonly approvals?: readonly string[] } }
  | { readonly stage: 'approval'; readonly step?: string; readonly outcome: 'entered'; readonly detail: GateOpenedDetail }
  | {
      readonly stage: 'approval';
      readonly step?: string;
      readonly outcome: 'escalated';
      readonly detail: { readonly groups: readonly string[]; readonly quorum: number; readonly deadline: string | null } & Pick<GateOpenedDetail, 'excludeOwningTeam' | 'authors' | 'owningTeams'>;
    }
  | { readonly stage: 'approval'; readonly step?: string; readonly outcome: 'expired'; readonly detail: { readonly deadline: string | null; readonly approvals: readonly string[] } }
  | { readonly stage: 'approval'; readonly step?: string; readonly outcome: 'passed' | 'rejected'; readonly detail: GateDecidedDetail }
  | { readonly stage: 'deploy'; readonly step: string; readonly outcome: 'entered'; readonly detail: PhaseEnteredDetail }
  | { readonly stage: 'deploy'; readonly step: string; readonly outcome: 'passed' | 'failed'; readonly detail: { readonly reason: string; readonly breaches?: readonly string[] } }
  | { readonly stage: 'deploy'; readonly step?: undefined; readonly outcome: 'passed'; readonly detail: Deployment & { readonly strategy: DeployStrategy } }
  | { readonly stage: 'deploy'; readonly step?: undefined; readonly outcome: 'failed'; readonly detail: { readonly reason: string } }
  | { readonly stage: AnyStage; readonly step: 'observation'; readonly outcome: 'passed' | 'breached'; readonly detail: WindowJudgedDetail }
  | { readonly stage: AnyStage; readonly step: 'drift'; readonly outcome: 'passed' | 'drifted'; readonly detail: DriftAbout & DriftSummary }
  | { readonly stage: AnyStage; readonly step: 'drift'; readonly outcome: 'failed'; readonly detail: DriftAbout & { readonly problem: string } }
  | { readonly stage: AnyStage; readonly step: 'prediction-drift'; readonly outcome: 'passed' | 'drifted'; readonly detail: { readonly window: WindowRef } & PredictionDriftSummary }
  | { readonly stage: AnyStage; readonly step: 'prediction-drift'; readonly outcome: 'failed'; readonly detail: { readonly window: WindowRef; readonly problem: string } }
  | { readonly stage: AnyStage; readonly step: 'performance'; readonly outcome: 'passed' | 'breached' | 'unjudged'; readonly detail: PerformanceDetail }
  /** A deploy phase's champion-against-challenger verdict (passed: won or uncontested; failed: lost; unjudged: too few labels). */
  | { readonly stage: 'deploy'; readonly step: 'challenge'; readonly outcome: 'passed' | 'failed' | 'unjudged'; readonly detail: ChallengeDetail }
  | { readonly stage: AnyStage; readonly step: 'alert'; readonly outcome: 'raised'; readonly detail: AlertDetail }
  | { readonly stage: 'monitor'; readonly step?: undefined; readonly outcome: 'passed'; readonly detail: MonitorStartedDetail }
  | { readonly stage: AnyStage; readonly step: 'template'; readonly outcome: 'migrated'; readonly detail: { readonly from: string; readonly to: string } }
  | {
      readonly stage: 'retrain';
      readonly step?: undefined;
      readonly outcome: 'passed';
      /** `trigger` and `training` are absent when the successor reuses the parent's artifacts (and before runners). */
      readonly detail: { readonly reason: string; readonly successor: string; readonly trigger?: RetrainTrigger; readonly training?: TrainingLineage };
    }
  | {
      readonly stage: 'retrain';
      readonly step: 'training';
      readonly outcome: 'entered';
      readonly detail: { readonly reason: string; readonly trigger: RetrainTrigger; readonly runner: TrainingRunner['kind']; readonly runKey: string };
    }
  | { readonly stage: 'retrain'; readonly step: 'training'; readonly outcome: 'passed'; readonly detail: TrainedDetail }
  /** The run finished but produced no new bytes: no version. */
  | { readonly stage: 'retrain'; readonly step: 'training'; readonly outcome: 'unchanged'; readonly detail: TrainedDetail & { readonly problem: string } }
  | { readonly stage: 'retrain'; readonly step?: undefined; readonly outcome: 'failed'; readonly detail: { readonly reason: string; readonly problem: string } }
  | { readonly stage: 'retire'; readonly step?: undefined; readonly outcome: 'completed'; readonly detail: { readonly endedBy: EndedBy; readonly reason: string; readonly unloadProblem?: string; readonly lineage?: RetiredLineage } }
  | { readonly stage: AnyStage; readonly step: 'request'; readonly outcome: 'refused'; readonly detail: { readonly request: string; readonly reason: string; readonly problem: string } };

/** Evidence of one kind, picked by its stage and outcome (and step where it tells kinds apart). */
export type EvidenceOf<S extends Stage, O extends TransitionEvidence['outcome'], P = string | undefined> = Extract<
  TransitionEvidence,
  { readonly stage: S; readonly outcome: O }
> & { readonly step?: P };

/** The observed-window verdicts among some transitions. */
export const isWindowJudged = <T extends TransitionEvidence>(t: T): t is Extract<T, { step: 'observation' }> => t.step === 'observation';
/** Every drift step: compared (passed, drifted) or not (failed). */
export const isDriftStep = <T extends TransitionEvidence>(t: T): t is Extract<T, { step: 'drift' }> => t.step === 'drift';
/** The drift verdicts (compared, not failed) among some transitions. */
export const isDriftJudged = <T extends TransitionEvidence>(t: T): t is Extract<T, { step: 'drift'; outcome: 'passed' | 'drifted' }> =>
  t.step === 'drift' && (t.outcome === 'passed' || t.outcome === 'drifted');
/** A window's performance on labelled requests. */
export const isPerformanceJudged = <T extends TransitionEvidence>(t: T): t is Extract<T, { step: 'performance' }> => t.step === 'performance';
/** An alert the monitor's alert policy raised. */
export const isAlertRaised = <T extends TransitionEvidence>(t: T): t is Extract<T, { step: 'alert' }> => t.step === 'alert';
/** The transition that started the monitor loop. */
export const isMonitorStarted = <T extends TransitionEvidence>(t: T): t is Extract<T, { stage: 'monitor'; step?: undefined; outcome: 'passed' }> =>
  t.stage === 'monitor' && t.step === undefined && t.outcome === 'passed';
/** A gate's decision: its approvers' verdict. */
export const isGateDecided = <T extends TransitionEvidence>(t: T): t is Extract<T, { stage: 'approval'; outcome: 'passed' | 'rejected' }> =>
  t.stage === 'approval' && (t.outcome === 'passed' || t.outcome === 'rejected');
/** An approval gate opening. */
export const isGateOpened = <T extends TransitionEvidence>(t: T): t is Extract<T, { stage: 'approval'; outcome: 'entered' }> =>
  t.stage === 'approval' && t.outcome === 'entered';
/** A scan's verdict on its findings (not a scan that could not complete, nor a custom scan step). */
export const isScanJudged = <T extends TransitionEvidence>(t: T): t is Extract<T, { stage: 'scan' }> & { detail: { maxSeverity: Severity; blockAt: Severity } } =>
  t.stage === 'scan' && 'maxSeverity' in t.detail && SEVERITIES.includes(t.detail.maxSeverity as Severity);
