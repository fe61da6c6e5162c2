import { evaluateMetrics, type MetricCheck, type TestReport } from '../core/gates.js';
import type { ReportRef } from '../core/reports.js';
import type { ContentStore } from '../evidence/content-store.js';

export { evaluateMetrics, type MetricCheck, type TestReport };

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
