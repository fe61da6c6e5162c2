export interface MetricCheck {
  readonly metric: string;
  readonly minimum: number;
  /** null when the manifest did not report the metric at all. */
  readonly value: number | null;
  readonly passed: boolean;
}

export interface TestReport {
  readonly passed: boolean;
  readonly checks: readonly MetricCheck[];
}

/**
 * The test gate: every metric the policy names must be reported and reach its minimum. A missing metric
 * fails rather than passes, because absent evidence is not evidence.
 */
export function evaluateMetrics(
  metrics: Readonly<Record<string, number>>,
  minMetrics: Readonly<Record<string, number>>,
): TestReport {
  const checks = Object.entries(minMetrics).map(([metric, minimum]): MetricCheck => {
    const value = metrics[metric] ?? null;
    return { metric, minimum, value, passed: value !== null && value >= minimum };
  });
  return { passed: checks.every((c) => c.passed), checks };
}

export function testingActivities() {
  return {
    async evaluateModel(input: {
      metrics: Readonly<Record<string, number>>;
      minMetrics: Readonly<Record<string, number>>;
    }): Promise<TestReport> {
      return evaluateMetrics(input.metrics, input.minMetrics);
    },
  };
}
