import { MetricInputError } from './metrics.js';

/**
 * Group fairness of a binary classifier's decisions, defined as fairlearn 0.15 defines them with
 * method="between_groups": each metric compares the groups' best and worst rate
 * (test/unit/evaluation-metrics.test.ts compares them with fairlearn live).
 */
export interface FairnessMetrics {
  /** Largest minus smallest selection rate (share predicted 1). */
  readonly demographicParityDifference: number;
  /** Smallest over largest selection rate; below 0.8 fails the four-fifths rule. NaN when no group is ever selected. */
  readonly demographicParityRatio: number;
  /** The larger of the true-positive-rate and false-positive-rate differences. */
  readonly equalizedOddsDifference: number;
  /** Largest minus smallest true positive rate. */
  readonly equalOpportunityDifference: number;
}

export const FAIRNESS_METRICS = ['demographicParityDifference', 'demographicParityRatio', 'equalizedOddsDifference', 'equalOpportunityDifference'] as const;

interface GroupCounts {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

/** One group's rates; a rate over an empty class is 0, as scikit-learn's normalised confusion matrix answers. */
function rates({ tp, fp, fn, tn }: GroupCounts) {
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  return { selection: (tp + fp) / (tp + fp + fn + tn), tpr: ratio(tp, tp + fn), fpr: ratio(fp, fp + tn) };
}

function spread(values: readonly number[]): { min: number; max: number } {
  return { min: Math.min(...values), max: Math.max(...values) };
}

/** `labels` and `predicted` are 0 or 1; `groups` names each row's group of the protected attribute. */
export function fairnessMetrics(labels: ArrayLike<number>, predicted: ArrayLike<number>, groups: ArrayLike<string>): FairnessMetrics {
  if (labels.length !== predicted.length || labels.length !== groups.length) {
    throw new MetricInputError(`labels, predicted and groups have ${labels.length}, ${predicted.length} and ${groups.length} entries`);
  }
  if (labels.length === 0) throw new MetricInputError('labels is empty');
  const byGroup = new Map<string, GroupCounts>();
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    const p = predicted[i];
    if (y !== 0 && y !== 1) throw new MetricInputError(`labels[${i}] is ${y}, not 0 or 1`);
    if (p !== 0 && p !== 1) throw new MetricInputError(`predicted[${i}] is ${p}, not 0 or 1`);
    const group = groups[i]!;
    let counts = byGroup.get(group);
    if (!counts) byGroup.set(group, (counts = { tp: 0, fp: 0, fn: 0, tn: 0 }));
    if (p === 1) counts[y === 1 ? 'tp' : 'fp']++;
    else counts[y === 1 ? 'fn' : 'tn']++;
  }
  const all = [...byGroup.values()].map(rates);
  const selection = spread(all.map((r) => r.selection));
  const tpr = spread(all.map((r) => r.tpr));
  const fpr = spread(all.map((r) => r.fpr));
  return {
    demographicParityDifference: selection.max - selection.min,
    demographicParityRatio: selection.max === 0 ? Number.NaN : selection.min / selection.max,
    equalizedOddsDifference: Math.max(tpr.max - tpr.min, fpr.max - fpr.min),
    equalOpportunityDifference: tpr.max - tpr.min,
  };
}
