import type { BreachKind } from './alerts.js';
import type { ColumnDriftSummary, StatTestName } from './drift.js';

/**
 * What the monitor judges on live traffic besides counts: performance and fairness once labels arrive, and the
 * drift of the model's own outputs. Policies come from the template; verdicts go into history.
 */

/** Performance against ground-truth labels joined to the gateway's requests. */
export interface PerformancePolicy {
  readonly task: 'classification' | 'regression';
  /** The output tensor holding the score (classification: the positive class's probability) or the prediction. */
  readonly output: string;
  /** Score at or above which a classifier predicts the positive class. */
  readonly threshold: number;
  /** Metric → floor (accuracy, f1, rocAuc) and metric → ceiling (rmse, mae). */
  readonly min: Readonly<Record<string, number>>;
  readonly max: Readonly<Record<string, number>>;
  /** Fewer labelled requests than this in a window are reported but not judged. */
  readonly minLabels: number;
}

/** Fairness over a window's labelled requests, sliced by each protected attribute the labels carry. */
export interface FairnessPolicy {
  readonly min: Readonly<Record<string, number>>;
  readonly max: Readonly<Record<string, number>>;
}

/** The drift of the model's outputs against the predictions in the reference dataset's column. */
export interface PredictionDriftPolicy {
  readonly output: string;
  /** The reference dataset's column holding the model's evaluation predictions. */
  readonly column: string;
  readonly stattest: 'auto' | StatTestName;
  readonly threshold?: number;
}

/** The labels signal: windows whose requests got new or changed labels. */
export interface LabelsArrived {
  readonly windows: readonly string[];
}

/** A window's performance as history records it. */
export interface PerformanceVerdict {
  readonly labelled: number;
  readonly metrics: Readonly<Record<string, number | null>>;
  /** Per protected attribute: the fairness metrics over its groups. */
  readonly fairness: Readonly<Record<string, Readonly<Record<string, number | null>>>>;
  readonly breaches: readonly string[];
  readonly kinds: readonly BreachKind[];
  /** True when there were too few labels to judge. */
  readonly tooFewLabels: boolean;
}

export interface PredictionDriftSummary extends ColumnDriftSummary {
  readonly referenceRows: number;
  readonly currentRows: number;
}

/**
 * Metric bounds, one sentence per broken bound. A metric that could not be computed (ROC AUC of a window with one
 * class) is not a breach: it was not measured.
 */
export function judgeBounds(metrics: Readonly<Record<string, number | null>>, bounds: { readonly min: Readonly<Record<string, number>>; readonly max: Readonly<Record<string, number>> }, prefix = ''): string[] {
  const breaches: string[] = [];
  for (const [metric, floor] of Object.entries(bounds.min)) {
    const v = metrics[metric];
    if (v !== null && v !== undefined && v < floor) breaches.push(`${prefix}${metric} ${round(v)} < ${floor}`);
  }
  for (const [metric, ceiling] of Object.entries(bounds.max)) {
    const v = metrics[metric];
    if (v !== null && v !== undefined && v > ceiling) breaches.push(`${prefix}${metric} ${round(v)} > ${ceiling}`);
  }
  return breaches;
}

/** Judges a window's measured performance and fairness against the template. */
export function judgePerformance(
  measured: Pick<PerformanceVerdict, 'labelled' | 'metrics' | 'fairness'>,
  performance: PerformancePolicy,
  fairness: FairnessPolicy | null,
): PerformanceVerdict {
  if (measured.labelled < performance.minLabels) return { ...measured, breaches: [], kinds: [], tooFewLabels: true };
  const perf = judgeBounds(measured.metrics, performance);
  const fair = fairness ? Object.entries(measured.fairness).flatMap(([attribute, m]) => judgeBounds(m, fairness, `${attribute}: `)) : [];
  const kinds: BreachKind[] = [...(perf.length ? (['performance'] as const) : []), ...(fair.length ? (['fairness'] as const) : [])];
  return { ...measured, breaches: [...perf, ...fair], kinds, tooFewLabels: false };
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;
