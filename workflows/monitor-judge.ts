import type { MonitorPlan } from './dsl/plan.js';
import type { Observation } from './messages.js';

/**
 * The monitor's rules for one observed window, as a pure function so the lifecycle reads as a lifecycle and
 * the rules can be tested alone: the error rate against the template's ceiling, each KPI against its range.
 * A KPI the window did not report is listed as missing, not as a breach: silence is not a measurement.
 */
export interface WindowVerdict {
  readonly errorRate: number | null;
  /** One sentence per bound the window broke, e.g. `error rate 0.034 > 0.01`. */
  readonly breaches: readonly string[];
  readonly missingKpis: readonly string[];
}

export function judgeWindow(window: Observation, policy: Pick<MonitorPlan, 'kpis' | 'maxErrorRate'>): WindowVerdict {
  const errorRate = window.requests > 0 ? window.errors / window.requests : null;
  const breaches: string[] = [];
  if (policy.maxErrorRate !== null && errorRate !== null && errorRate > policy.maxErrorRate) {
    breaches.push(`error rate ${round(errorRate)} > ${policy.maxErrorRate}`);
  }
  const missingKpis: string[] = [];
  for (const [kpi, { min, max }] of Object.entries(policy.kpis)) {
    const value = window.kpis[kpi];
    if (value === undefined) missingKpis.push(kpi);
    else if (min !== undefined && value < min) breaches.push(`${kpi} ${value} < ${min}`);
    else if (max !== undefined && value > max) breaches.push(`${kpi} ${value} > ${max}`);
  }
  return { errorRate, breaches, missingKpis };
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;
