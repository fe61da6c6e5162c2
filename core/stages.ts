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
  /** A retire request ended the stage before it finished. */
  | 'cancelled'
  /** A request (retrain, promote) the lifecycle could not act on in its stage. */
  | 'refused';

/**
 * One stage transition as the workflow records it. It is the input of the `recordStage` activity, so it
 * is in the history verbatim; the catalog's stage_transitions table is a projection of it.
 */
export interface StageTransition {
  readonly workflowId: string;
  readonly modelVersionId: string;
  /** Position of this transition in the whole lifecycle (across continue-as-new runs). */
  readonly seq: number;
  readonly stage: Stage;
  /** The template's name for the step within the stage (`fairness`, `shadow`); absent in older histories. */
  readonly step?: string;
  readonly outcome: StageOutcome;
  /** ISO time from the workflow clock. */
  readonly at: string;
  /** Principal id, or `steward` for automatic steps. */
  readonly actor: string;
  /** Small summary of the evidence or reason; never an artifact or full report. */
  readonly detail: Readonly<Record<string, unknown>>;
  /** The gate's report, when the stage produced one. */
  readonly report?: ReportRef;
}
