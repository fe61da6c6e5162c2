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
