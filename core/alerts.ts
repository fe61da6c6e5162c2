/**
 * The monitor's alert policy: when breaching windows become an alert, how loud it is, and whether it starts a
 * retrain. Pure and deterministic: the lifecycle steps it once per verdict and records what it decides.
 */

/** What a window can breach; a template names the kinds that make an alert critical. */
export const BREACH_KINDS = ['errors', 'latency', 'kpi', 'drift', 'prediction-drift', 'performance', 'fairness'] as const;
export type BreachKind = (typeof BREACH_KINDS)[number];

export const ALERT_SEVERITIES = ['warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export interface AlertPolicy {
  /** Breaching verdicts in a row that raise an alert. */
  readonly consecutive: number;
  /** After an alert, no other is raised for this long (breaches are still recorded). */
  readonly cooldownMs: number;
  /** Breach kinds that make an alert critical; any other breach raises a warning. */
  readonly critical: readonly BreachKind[];
  /** The least severity of alert that starts a retrain; null never retrains on an alert. */
  readonly retrainAt: AlertSeverity | null;
}

/** What the lifecycle carries between verdicts (and across continue-as-new). */
export interface AlertState {
  /** Breaching verdicts in a row so far. */
  readonly streak: number;
  /** The breach kinds seen in the current streak. */
  readonly kinds: readonly BreachKind[];
  /** When the last alert was raised (ISO time), or null. */
  readonly lastAlertAt: string | null;
}

export const NO_ALERTS: AlertState = { streak: 0, kinds: [], lastAlertAt: null };

export interface Alert {
  readonly severity: AlertSeverity;
  readonly streak: number;
  readonly kinds: readonly BreachKind[];
  readonly retrain: boolean;
}

/** Why a breaching verdict raised no alert; recorded so a quiet monitor explains itself. */
export type Held = { readonly held: 'streak'; readonly streak: number; readonly needed: number } | { readonly held: 'cooldown'; readonly until: string };

export interface AlertStep {
  readonly state: AlertState;
  readonly alert: Alert | null;
  readonly held: Held | null;
}

const severityRank = (s: AlertSeverity) => ALERT_SEVERITIES.indexOf(s);

/**
 * One verdict through the policy: a passing verdict ends the streak; a breaching one lengthens it, and raises an
 * alert once the streak is long enough and no alert was raised within the cooldown. The streak is not reset by
 * an alert, so a breach that persists past the cooldown alerts again.
 */
export function stepAlerts(state: AlertState, breaches: readonly BreachKind[], now: string, policy: AlertPolicy): AlertStep {
  if (breaches.length === 0) return { state: { ...state, streak: 0, kinds: [] }, alert: null, held: null };
  const streak = state.streak + 1;
  const kinds = BREACH_KINDS.filter((k) => state.kinds.includes(k) || breaches.includes(k));
  if (streak < policy.consecutive) return { state: { ...state, streak, kinds }, alert: null, held: { held: 'streak', streak, needed: policy.consecutive } };
  if (state.lastAlertAt !== null) {
    const until = Date.parse(state.lastAlertAt) + policy.cooldownMs;
    if (Date.parse(now) < until) return { state: { ...state, streak, kinds }, alert: null, held: { held: 'cooldown', until: new Date(until).toISOString() } };
  }
  const severity: AlertSeverity = kinds.some((k) => policy.critical.includes(k)) ? 'critical' : 'warning';
  const retrain = policy.retrainAt !== null && severityRank(severity) >= severityRank(policy.retrainAt);
  return { state: { streak, kinds, lastAlertAt: now }, alert: { severity, streak, kinds, retrain }, held: null };
}
