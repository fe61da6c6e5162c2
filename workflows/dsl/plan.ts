import type { ModelManifest } from '../../core/manifest.js';
import type { VersionBump } from '../../core/model-id.js';
import type { ApprovalPolicy, Severity } from '../../core/policy.js';
import type { ReportRef } from '../../core/reports.js';
import type { EvaluatePolicy } from '../../core/evaluation.js';
import type { TrainingRunner } from '../../core/training.js';
import type { STAT_TESTS } from './options.js';
import type { AlertPolicy } from '../../core/alerts.js';
import type { FairnessPolicy, PerformancePolicy, PredictionDriftPolicy } from '../../core/live-monitoring.js';
import type { LatencySummary } from '../../core/observation.js';
import type { ChallengePolicy } from '../../core/challenge.js';

/**
 * A lifecycle plan: what a template decided for one model version, after validation. The lifecycle workflow
 * walks it; the policy preview judges recorded evidence with it. Durations are milliseconds.
 */
export interface LifecyclePlan {
  /** `name@version`, or `inline` for a lifecycle started with a bare policy. */
  readonly template: string;
  readonly gates: readonly GateStep[];
  readonly deploy: DeployPlan;
  readonly monitor: MonitorPlan;
  readonly retrain: RetrainPlan;
  readonly retire: RetirePlan;
}

export interface MetricBounds {
  readonly min: Readonly<Record<string, number>>;
  readonly max: Readonly<Record<string, number>>;
}

export type GateStep = TestStep | ScanStep | ApprovalStep | CustomStep | ParallelStep;
/** Gates that run without people, and so can run side by side. */
export type AutomatedStep = TestStep | ScanStep | CustomStep;

export interface TestStep {
  readonly kind: 'test';
  readonly name: string;
  readonly bounds: MetricBounds;
  /** Score the candidate on the manifest's evaluation dataset; absent in templates released before. */
  readonly evaluate?: EvaluatePolicy;
}

export interface ScanStep {
  readonly kind: 'scan';
  readonly name: string;
  readonly blockAt: Severity;
}

export interface ApprovalStep {
  readonly kind: 'approval';
  readonly name: string;
  readonly policy: ApprovalPolicy;
}

/** What a custom stage may use: the manifest and the lifecycle's activities, through `activities`. */
export interface StepContext {
  readonly manifest: ModelManifest;
  readonly modelVersionId: string;
  readonly activities: CustomStepActivities;
}

/** The activities a custom stage may call (the same ones the built-in stages use). */
export interface CustomStepActivities {
  evaluateModel(input: {
    modelVersionId: string;
    metrics: Readonly<Record<string, number>>;
    minMetrics: Readonly<Record<string, number>>;
    maxMetrics?: Readonly<Record<string, number>>;
  }): Promise<{ passed: boolean; report: ReportRef }>;
}

export interface StepVerdict {
  readonly passed: boolean;
  /** Why, in a sentence; recorded in history. */
  readonly reason: string;
  readonly detail?: Readonly<Record<string, unknown>>;
  readonly report?: ReportRef;
}

export interface CustomStep {
  readonly kind: 'custom';
  readonly name: string;
  /** The lifecycle stage the step belongs to, for the catalog and the stage search attribute. */
  readonly phase: 'test' | 'scan' | 'approval';
  readonly run: (ctx: StepContext) => Promise<StepVerdict>;
}

export interface ParallelStep {
  readonly kind: 'parallel';
  readonly name: string;
  readonly steps: readonly AutomatedStep[];
}

export interface DeployPhase {
  readonly mode: 'shadow' | 'canary';
  readonly name: string;
  /** 0 for shadow (mirrored requests, answers discarded). */
  readonly trafficShare: number;
  readonly holdMs: number;
  /** Promoted only if it beats the champion on live labelled traffic; absent: promoted when the hold ends. */
  readonly challenge?: ChallengePolicy;
}

export interface DeployPlan {
  readonly phases: readonly DeployPhase[];
}

export interface MonitorPlan {
  readonly intervalMs: number;
  readonly cyclesPerRun: number;
  readonly drift: { readonly stattest: (typeof STAT_TESTS)[number]; readonly threshold?: number; readonly columnShare: number } | null;
  readonly kpis: Readonly<Record<string, { readonly min?: number; readonly max?: number }>>;
  readonly maxErrorRate: number | null;
  /** The fields below are absent in plans of templates released before live monitoring. */
  readonly maxLatencyMs?: Partial<LatencySummary> | null;
  readonly performance?: PerformancePolicy | null;
  readonly fairness?: FairnessPolicy | null;
  readonly predictionDrift?: PredictionDriftPolicy | null;
  readonly alerts?: AlertPolicy | null;
}

export interface RetrainPlan {
  readonly versionBump: VersionBump;
  readonly onDrift: boolean;
  /** How the next version is trained; absent: it reuses the parent's artifacts (templates before runners). */
  readonly runner?: TrainingRunner;
  readonly schedule?: { readonly everyMs: number };
  /** Automatic triggers wait at least this long after the last retrain. */
  readonly minIntervalMs?: number;
}

export interface RetirePlan {
  readonly maxLifetimeMs: number | null;
}
