import type { ReportRef } from '../core/reports.js';
import type { ContentStore } from '../evidence/content-store.js';

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

export function testingActivities(store: ContentStore) {
  return {
    /** The test gate's activity: judges the metrics and files the full report in the content store. */
    async evaluateModel(input: {
      modelVersionId: string;
      metrics: Readonly<Record<string, number>>;
      minMetrics: Readonly<Record<string, number>>;
      /** Absent in histories recorded before templates could bound a metric from above. */
      maxMetrics?: Readonly<Record<string, number>>;
    }): Promise<{ passed: boolean; report: ReportRef }> {
      const result = evaluateMetrics(input.metrics, input.minMetrics, input.maxMetrics);
      const digest = await store.put({ kind: 'evaluation', ...input, ...result });
      return { passed: result.passed, report: { kind: 'evaluation', digest, summary: { ...result } } };
    },
  };
}
