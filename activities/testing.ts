import type { ReportRef } from '../core/reports.js';
import type { ContentStore } from '../evidence/content-store.js';

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

export function testingActivities(store: ContentStore) {
  return {
    /** The test gate's activity: judges the metrics and files the full report in the content store. */
    async evaluateModel(input: {
      modelVersionId: string;
      metrics: Readonly<Record<string, number>>;
      minMetrics: Readonly<Record<string, number>>;
    }): Promise<{ passed: boolean; report: ReportRef }> {
      const result = evaluateMetrics(input.metrics, input.minMetrics);
      const digest = await store.put({ kind: 'evaluation', ...input, ...result });
      return { passed: result.passed, report: { kind: 'evaluation', digest, summary: { ...result } } };
    },
  };
}
