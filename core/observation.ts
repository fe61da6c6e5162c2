import type { DatasetSample } from './drift.js';

/**
 * What the serving side saw in one window: request and error counts and business KPIs. Small numbers only;
 * the lifecycle judges each window against its template's monitor policy and records the verdict.
 */
export interface Observation {
  /** Correlates retries: a repeated id is the same window and is judged once. */
  readonly id: string;
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly requests: number;
  readonly errors: number;
  readonly kpis: Readonly<Record<string, number>>;
  readonly reportedBy: string;
  /** The window's live inputs, compared with the reference dataset for feature drift. */
  readonly sample?: DatasetSample;
  /** Response times the scoring gateway measured in the window, in milliseconds. */
  readonly latencyMs?: LatencySummary;
  /** A shadow's window: how many mirrored requests were compared with the champion's answer, and how many agreed. */
  readonly shadow?: ShadowComparison;
}

export interface LatencySummary {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

export interface ShadowComparison {
  readonly compared: number;
  readonly agreed: number;
  /** The champion's p50 over the same requests, for the shadow's latency beside it. */
  readonly championP50Ms?: number;
}

/** How transitions name an observed window. */
export interface WindowRef {
  readonly id: string;
  readonly start: string;
  readonly end: string;
  /** Absent in windows recorded before reporters were named. */
  readonly reportedBy?: string;
}

export const windowRef = (w: Observation): WindowRef => ({ id: w.id, start: w.windowStart, end: w.windowEnd, reportedBy: w.reportedBy });

/** The last drift verdict: `drifted` or `passed`, or `failed` when the sample could not be compared. */
export interface DriftStatus {
  readonly at: string;
  readonly window: string;
  readonly outcome: 'passed' | 'drifted' | 'failed';
  readonly share: number | null;
  readonly driftedColumns: readonly string[];
}

/** A monitor policy's bounds on one window: the error-rate ceiling and each KPI's range. */
export interface WindowPolicy {
  readonly kpis: Readonly<Record<string, { readonly min?: number; readonly max?: number }>>;
  readonly maxErrorRate: number | null;
  /** Latency ceilings (the gateway's percentiles, ms); absent in templates before latency SLAs. */
  readonly maxLatencyMs?: Partial<LatencySummary> | null;
}

export interface WindowVerdict {
  readonly errorRate: number | null;
  /** One sentence per bound the window broke, e.g. `error rate 0.034 > 0.01`. */
  readonly breaches: readonly string[];
  readonly missingKpis: readonly string[];
}

/**
 * The monitor gate's rule for one observed window, shared by the lifecycle and the policy preview: the
 * error rate against the ceiling, each KPI against its range. A KPI the window did not report is listed as
 * missing, not as a breach: silence is not a measurement.
 */
export function judgeWindow(window: Pick<Observation, 'requests' | 'errors' | 'kpis' | 'latencyMs'>, policy: WindowPolicy): WindowVerdict {
  const { breaches: found, ...verdict } = judgeWindowByKind(window, policy);
  return { ...verdict, breaches: found.map((b) => b.text) };
}

/** The same rule, each breach with its kind (errors, kpi, latency) for the alert policy. */
export function judgeWindowByKind(
  window: Pick<Observation, 'requests' | 'errors' | 'kpis' | 'latencyMs'>,
  policy: WindowPolicy,
): Omit<WindowVerdict, 'breaches'> & { breaches: { kind: 'errors' | 'kpi' | 'latency'; text: string }[] } {
  const errorRate = window.requests > 0 ? window.errors / window.requests : null;
  const breaches: { kind: 'errors' | 'kpi' | 'latency'; text: string }[] = [];
  if (policy.maxErrorRate !== null && errorRate !== null && errorRate > policy.maxErrorRate) {
    breaches.push({ kind: 'errors', text: `error rate ${round(errorRate)} > ${policy.maxErrorRate}` });
  }
  const missingKpis: string[] = [];
  for (const [kpi, { min, max }] of Object.entries(policy.kpis)) {
    const value = window.kpis[kpi];
    if (value === undefined) missingKpis.push(kpi);
    else if (min !== undefined && value < min) breaches.push({ kind: 'kpi', text: `${kpi} ${value} < ${min}` });
    else if (max !== undefined && value > max) breaches.push({ kind: 'kpi', text: `${kpi} ${value} > ${max}` });
  }
  // A window without latencies (a shadow-only or all-failed window) has nothing to hold to the SLA.
  for (const p of ['p50', 'p95', 'p99'] as const) {
    const ceiling = policy.maxLatencyMs?.[p];
    const value = window.latencyMs?.[p];
    if (ceiling !== undefined && value !== undefined && value > ceiling) breaches.push({ kind: 'latency', text: `latency ${p} ${value} ms > ${ceiling} ms` });
  }
  return { errorRate, breaches, missingKpis };
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;
