import type { TransitionEvidence } from './evidence.js';
import type { ReportRef } from './reports.js';

/** The eight lifecycle stages, in the order a healthy model version walks them. */
export const STAGES = ['register', 'test', 'scan', 'approval', 'deploy', 'monitor', 'retrain', 'retire'] as const;
export type Stage = (typeof STAGES)[number];

/** How a stage ended. `passed` moves on; `failed` and `rejected` send the version straight to retire. */
export type StageOutcome =
  | 'entered'
  | 'escalated'
  | 'passed'
  | 'failed'
  | 'rejected'
  | 'expired'
  | 'completed'
  | 'migrated'
  | 'breached'
  | 'drifted'
  /** The monitor's alert policy raised an alert. */
  | 'raised'
  /** Measured but not judged: too few labelled requests. */
  | 'unjudged'
  /** A retire request ended the stage before it finished. */
  | 'cancelled'
  /** A request (retrain, promote) the lifecycle could not act on in its stage. */
  | 'refused';

/**
 * One stage transition as the workflow records it. It is the input of the `recordStage` activity, so it
 * is in the history verbatim; the catalog's stage_transitions table is a projection of it. Its stage,
 * step, outcome and detail are one of the kinds of evidence in evidence.ts.
 */
export type StageTransition = TransitionEvidence & {
  readonly workflowId: string;
  readonly modelVersionId: string;
  /** Position of this transition in the whole lifecycle (across continue-as-new runs). */
  readonly seq: number;
  /** ISO time from the workflow clock. */
  readonly at: string;
  /** Principal id, or `steward` for automatic steps. */
  readonly actor: string;
  /** The gate's report, when the stage produced one. */
  readonly report?: ReportRef;
};
