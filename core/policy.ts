import type { VersionBump } from './model-id.js';

/**
 * The knobs a lifecycle runs with. The templates issue replaces this flat record with a typed DSL;
 * until then every lifecycle gets `defaultPolicy`, possibly with shorter durations for tests and demos.
 */
export interface LifecyclePolicy {
  readonly test: {
    /** Metric name → minimum value the manifest's metrics must reach. */
    readonly minMetrics: Readonly<Record<string, number>>;
  };
  readonly scan: {
    /** Findings at or above this severity block the lifecycle. */
    readonly blockAt: Severity;
  };
  readonly approval: {
    /** Groups whose approvers may decide; `approver:<group>` roles. */
    readonly groups: readonly string[];
  };
  readonly monitor: {
    /** Time between two monitor cycles. */
    readonly intervalMs: number;
    /** Cycles per workflow run before continue-as-new, which keeps each run's history bounded. */
    readonly cyclesPerRun: number;
  };
  readonly retrain: {
    readonly versionBump: VersionBump;
  };
}

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function severityAtLeast(severity: Severity, threshold: Severity): boolean {
  return SEVERITIES.indexOf(severity) >= SEVERITIES.indexOf(threshold);
}

export const defaultPolicy: LifecyclePolicy = {
  test: { minMetrics: {} },
  scan: { blockAt: 'high' },
  approval: { groups: ['risk'] },
  monitor: { intervalMs: 60 * 60 * 1000, cyclesPerRun: 100 },
  retrain: { versionBump: 'minor' },
};
