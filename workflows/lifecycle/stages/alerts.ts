import { patched } from '@temporalio/workflow';
import { stepAlerts, type BreachKind } from '../../../core/alerts.js';
import type { Principal } from '../../../core/principal.js';
import { STEWARD } from '../proxies.js';
import type { LifecycleContext } from '../context.js';
import { requestAutomaticRetrain } from './retrain.js';

/** Lifecycles whose alerts ask for their retrain through the one retrain path before the alert is recorded. */
const ONE_RETRAIN_PATH_PATCH = 'steward:alert-retrain-requested';

/**
 * Runs one verdict (a window's, or a window's performance once labelled) through the template's alert policy.
 * An alert is recorded (so it is a stage.transition event), published as a `monitor.alert` event for webhooks,
 * and starts a retrain when its severity reaches the policy's `retrainAt`. Only the monitor loop alerts: during
 * a shadow or canary phase a breach rolls the candidate back instead.
 */
export async function judgeAlerts(ctx: LifecycleContext, window: string, kinds: readonly BreachKind[], breaches: readonly string[]): Promise<void> {
  const { plan, state } = ctx;
  const policy = plan.monitor.alerts;
  if (!policy || state.stage !== 'monitor' || !patched('steward:monitor-alerts')) return;
  const step = stepAlerts(state.monitor.alerts, kinds, ctx.now(), policy);
  state.monitor.alerts = step.state;
  if (!step.alert) return;
  const { severity, streak, kinds: seen } = step.alert;
  const reason = `${severity} alert: ${streak} breaching window${streak === 1 ? '' : 's'} in a row (${seen.join(', ')}); last: ${breaches.slice(0, 3).join('; ')}`;
  const ask = () => requestAutomaticRetrain(ctx, { kind: 'alert', severity, breaches: [...breaches], window }, reason);
  // Asked before the alert is recorded, so the record says whether a retrain was queued; lifecycles recorded
  // before asked afterwards, taking the slot whatever had arrived meanwhile.
  const askedFirst = step.alert.retrain && patched(ONE_RETRAIN_PATH_PATCH);
  const retrain = step.alert.retrain && (askedFirst ? ask() === null : !state.retrain.pending && !state.retrain.successor);
  const detail = { window: { id: window }, severity, streak, kinds: seen, breaches, retrain };
  await ctx.record({ stage: state.stage, step: 'alert', outcome: 'raised', detail }, STEWARD);
  await ctx.notify(`alert/${state.seq}`, 'monitor.alert', { ...detail, window });
  if (retrain && !askedFirst) state.retrain.pending = { requestedBy: LEGACY_REQUESTER, reason };
}

/** Who asked in lifecycles recorded before the one retrain path (their requests carried no trigger). */
const LEGACY_REQUESTER: Principal = { id: STEWARD, roles: [] };
