import { canonicalMetric, LOWER_IS_BETTER, type EvaluatePolicy, type EvaluationCheck, type EvaluationMeasurement, type EvaluationVerdict } from './evaluation.js';
import { severityAtLeast, type Severity } from './policy.js';

/**
 * The automated gates' rules, one function each, shared by the lifecycle's activities and the policy
 * preview so a preview judges exactly as the lifecycle would. The approval gate's rules are in
 * approval-gate.ts, the monitor window's in observation.ts.
 */
export interface MetricCheck {
  readonly metric: string;
  /** One of the two bounds is set. */
  readonly minimum?: number;
  readonly maximum?: number;
  /** null when the manifest did not report the metric at all. */
  readonly value: number | null;
  readonly passed: boolean;
}

export interface TestReport {
  readonly passed: boolean;
  readonly checks: readonly MetricCheck[];
}

/**
 * The test gate: every metric the template bounds must be reported, reach its minimum and stay within its
 * maximum. A missing metric fails rather than passes, because absent evidence is not evidence.
 */
export function evaluateMetrics(
  metrics: Readonly<Record<string, number>>,
  minMetrics: Readonly<Record<string, number>>,
  maxMetrics: Readonly<Record<string, number>> = {},
): TestReport {
  const value = (metric: string) => metrics[metric] ?? null;
  const checks = [
    ...Object.entries(minMetrics).map(([metric, minimum]): MetricCheck => {
      const v = value(metric);
      return { metric, minimum, value: v, passed: v !== null && v >= minimum };
    }),
    ...Object.entries(maxMetrics).map(([metric, maximum]): MetricCheck => {
      const v = value(metric);
      return { metric, maximum, value: v, passed: v !== null && v <= maximum };
    }),
  ];
  return { passed: checks.every((c) => c.passed), checks };
}

/** The scan gate: a finding at or above the blocking severity blocks the version. */
export function scanPasses(maxSeverity: Severity, blockAt: Severity): boolean {
  return !severityAtLeast(maxSeverity, blockAt);
}

/** A number as a report shows it: six significant digits, no trailing zeros. */
const shown = (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? 'not measurable' : String(Number(v.toPrecision(6))));

/** The test gate by scoring: the template's bounds over measured metrics (see core/evaluation.ts). */
export interface EvaluationBounds {
  readonly min: Readonly<Record<string, number>>;
  readonly max: Readonly<Record<string, number>>;
}

/**
 * The verdict of an evaluation by scoring: measured metrics against the template's floors and ceilings, against
 * the champion on the same rows, the manifest's claims against what was measured, fairness per protected
 * attribute, the latency budget, and every contract probe. A metric that could not be measured fails its bound.
 */
export function judgeEvaluation(
  measurement: EvaluationMeasurement,
  claims: Readonly<Record<string, number>>,
  bounds: EvaluationBounds,
  policy: Pick<EvaluatePolicy, 'vsChampion' | 'claimTolerance' | 'latency' | 'fairness'>,
): EvaluationVerdict {
  const claimOf = new Map<string, number>();
  for (const [name, value] of Object.entries(claims)) {
    const metric = canonicalMetric(name);
    if (metric !== null) claimOf.set(metric, value);
  }
  const measuredOf = (metric: string): number | null => {
    const v = measurement.metrics[metric];
    return v === undefined || Number.isNaN(v) ? null : v;
  };
  const checks: EvaluationCheck[] = [];

  const bound = (side: 'min' | 'max', name: string, limit: number) => {
    const metric = canonicalMetric(name) ?? name;
    const measured = measuredOf(metric);
    const claimed = claimOf.get(metric) ?? null;
    const passed = measured !== null && (side === 'min' ? measured >= limit : measured <= limit);
    const claim = claimed === null ? 'not claimed' : `claimed ${shown(claimed)}`;
    const relation = side === 'min' ? (passed ? 'reaches the minimum' : 'is below the minimum') : passed ? 'is within the maximum' : 'is above the maximum';
    checks.push({
      kind: 'threshold',
      metric,
      measured,
      claimed,
      ...(side === 'min' ? { minimum: limit } : { maximum: limit }),
      passed,
      message: `${metric} measured ${shown(measured)} (${claim}) ${relation} ${shown(limit)}`,
    });
  };
  for (const [name, limit] of Object.entries(bounds.min)) bound('min', name, limit);
  for (const [name, limit] of Object.entries(bounds.max)) bound('max', name, limit);

  const champion = measurement.champion;
  if (champion) {
    for (const [name, maxDrop] of Object.entries(policy.vsChampion)) {
      const metric = canonicalMetric(name) ?? name;
      const measured = measuredOf(metric);
      const theirs = champion.metrics[metric];
      const known = theirs !== undefined && !Number.isNaN(theirs);
      const worseBy = measured === null || !known ? null : LOWER_IS_BETTER.has(metric) ? measured - theirs : theirs - measured;
      const passed = worseBy !== null && worseBy <= maxDrop + 1e-12;
      const how = worseBy === null ? 'cannot be compared with' : worseBy > 0 ? `is ${shown(worseBy)} worse than` : 'is not worse than';
      checks.push({
        kind: 'champion',
        metric,
        measured,
        ...(known ? { champion: theirs } : {}),
        claimed: claimOf.get(metric) ?? null,
        maximum: maxDrop,
        passed,
        message: `${metric} measured ${shown(measured)} ${how} the champion ${champion.modelVersionId}'s ${shown(known ? theirs : null)} on the same rows (at most ${shown(maxDrop)} worse allowed)`,
      });
    }
  }

  for (const [metric, claimed] of claimOf) {
    const measured = measuredOf(metric);
    if (measured === null && !(metric in measurement.metrics)) continue;
    const off = measured === null ? null : Math.abs(claimed - measured);
    const tolerance = policy.claimTolerance;
    const passed = tolerance === null || (off !== null && off <= tolerance + 1e-12);
    const judged = tolerance === null ? 'reported only' : `tolerance ${shown(tolerance)}`;
    checks.push({
      kind: 'claim',
      metric,
      measured,
      claimed,
      ...(tolerance === null ? {} : { maximum: tolerance }),
      passed,
      message: `${metric} claimed ${shown(claimed)}, measured ${shown(measured)}: off by ${shown(off)} (${judged})`,
    });
  }

  if (policy.fairness) {
    for (const [attribute, values] of Object.entries(measurement.fairness)) {
      for (const side of ['min', 'max'] as const) {
        for (const [metric, limit] of Object.entries(policy.fairness[side])) {
          const v = values[metric];
          const measured = v === undefined || Number.isNaN(v) ? null : v;
          const passed = measured !== null && (side === 'min' ? measured >= limit : measured <= limit);
          const relation = side === 'min' ? (passed ? 'reaches the minimum' : 'is below the minimum') : passed ? 'is within the maximum' : 'is above the maximum';
          checks.push({
            kind: 'fairness',
            metric,
            attribute,
            measured,
            ...(side === 'min' ? { minimum: limit } : { maximum: limit }),
            passed,
            message: `${metric} over ${attribute} measured ${shown(measured)} ${relation} ${shown(limit)}`,
          });
        }
      }
    }
  }

  if (policy.latency) {
    for (const metric of ['p50Ms', 'p95Ms'] as const) {
      const limit = policy.latency[metric];
      if (limit === undefined) continue;
      const measured = measurement.latency?.[metric] ?? null;
      const passed = measured !== null && measured <= limit;
      const batch = measurement.latency?.batch ?? policy.latency.batch;
      checks.push({
        kind: 'latency',
        metric,
        measured,
        maximum: limit,
        passed,
        message: `latency ${metric.slice(0, 3)} over ${batch} single-row requests measured ${shown(measured)} ms ${passed ? 'is within' : 'is above'} the budget of ${shown(limit)} ms`,
      });
    }
  }

  for (const probe of measurement.contract) {
    checks.push({ kind: 'contract', metric: probe.name, measured: null, passed: probe.passed, message: `${probe.name}: ${probe.detail}` });
  }

  const failures = checks.filter((c) => !c.passed).map((c) => c.message);
  return { passed: failures.length === 0, checks, failures };
}
