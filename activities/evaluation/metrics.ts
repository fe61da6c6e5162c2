/**
 * The test gate's model metrics, defined exactly as scikit-learn 1.9 defines them so a number in a report
 * means what a data scientist expects it to mean (test/unit/evaluation-metrics.test.ts compares them live).
 * Pure functions over arrays: no I/O, no runtime.
 */

export class MetricInputError extends Error {}

export interface ClassificationMetrics {
  readonly accuracy: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** NaN when the labels hold one class only (scikit-learn warns and returns NaN too). */
  readonly rocAuc: number;
  readonly logLoss: number;
}

export interface RegressionMetrics {
  readonly rmse: number;
  readonly mae: number;
  readonly mape: number;
  readonly r2: number;
}

export const CLASSIFICATION_METRICS = ['accuracy', 'precision', 'recall', 'f1', 'rocAuc', 'logLoss'] as const;
export const REGRESSION_METRICS = ['rmse', 'mae', 'mape', 'r2'] as const;

/** numpy.finfo(float64).eps: scikit-learn's clip for log loss and MAPE's floor for |y|. */
const EPS = 2.220446049250313e-16;

function checkPair(labels: ArrayLike<number>, values: ArrayLike<number>, valuesName: string): number {
  if (labels.length !== values.length) throw new MetricInputError(`labels has ${labels.length} entries but ${valuesName} has ${values.length}`);
  if (labels.length === 0) throw new MetricInputError('labels is empty');
  for (let i = 0; i < labels.length; i++) {
    if (!Number.isFinite(labels[i]!)) throw new MetricInputError(`labels[${i}] is not a finite number`);
    if (!Number.isFinite(values[i]!)) throw new MetricInputError(`${valuesName}[${i}] is not a finite number`);
  }
  return labels.length;
}

/**
 * Binary classification metrics. `labels` are 0 or 1; `scores` the probability of class 1. The predicted class
 * is 1 when the score reaches `threshold` (default 0.5). Precision, recall and F1 are 0 when undefined, as
 * scikit-learn's zero_division default answers.
 */
export function classificationMetrics(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  options: { threshold?: number } = {},
): ClassificationMetrics {
  const n = checkPair(labels, scores, 'scores');
  const threshold = options.threshold ?? 0.5;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  let lossSum = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    const p = scores[i]!;
    if (y !== 0 && y !== 1) throw new MetricInputError(`labels[${i}] is ${y}, not 0 or 1`);
    if (p < 0 || p > 1) throw new MetricInputError(`scores[${i}] is ${p}, not a probability in [0, 1]`);
    const predicted = p >= threshold ? 1 : 0;
    if (predicted === 1) {
      if (y === 1) tp++;
      else fp++;
    } else if (y === 1) fn++;
    else tn++;
    // scikit-learn forms [1 - p, p] first and clips each to [eps, 1 - eps].
    const q = y === 1 ? p : 1 - p;
    lossSum -= Math.log(Math.min(Math.max(q, EPS), 1 - EPS));
  }
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  return {
    accuracy: (tp + tn) / n,
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    rocAuc: rocAuc(labels, scores),
    logLoss: lossSum / n,
  };
}

/**
 * Area under the ROC curve as scikit-learn computes it: the curve's points at every distinct score (tied
 * scores move true and false positives together, a diagonal step), integrated by the trapezoidal rule.
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = checkPair(labels, scores, 'scores');
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i] === 1 ? 1 : 0;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  let tps = 0;
  let fps = 0;
  let lastTpr = 0;
  let lastFpr = 0;
  let area = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    if (labels[i] === 1) tps++;
    else fps++;
    const next = order[k + 1];
    if (next !== undefined && scores[next] === scores[i]) continue;
    const tpr = tps / positives;
    const fpr = fps / negatives;
    area += ((fpr - lastFpr) * (tpr + lastTpr)) / 2;
    lastTpr = tpr;
    lastFpr = fpr;
  }
  return area;
}

/** Regression metrics: RMSE, MAE, MAPE (|y| floored at float64's eps, a fraction, not a percentage) and R². */
export function regressionMetrics(labels: ArrayLike<number>, predictions: ArrayLike<number>): RegressionMetrics {
  const n = checkPair(labels, predictions, 'predictions');
  let squared = 0;
  let absolute = 0;
  let percentage = 0;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += labels[i]!;
  mean /= n;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    const error = y - predictions[i]!;
    squared += error * error;
    absolute += Math.abs(error);
    percentage += Math.abs(error) / Math.max(Math.abs(y), EPS);
    total += (y - mean) * (y - mean);
  }
  // scikit-learn's force_finite: a constant target scores 1 when predicted exactly, else 0.
  const r2 = total === 0 ? (squared === 0 ? 1 : 0) : 1 - squared / total;
  return { rmse: Math.sqrt(squared / n), mae: absolute / n, mape: percentage / n, r2 };
}
