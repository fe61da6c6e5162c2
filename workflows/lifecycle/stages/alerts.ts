import { patched } from '@temporalio/workflow';
import { stepAlerts, type BreachKind } from '../../../core/alerts.js';
import type { Principal } from '../../../core/principal.js';
import { STEWARD } from '../proxies.js';
import type { LifecycleContext } from '../context.js';

/** Who asks for a retrain the alert policy starts. */
const STEWARD_PRINCIPAL: Principal = { id: STEWARD, roles: [] };

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
  const retrain = step.alert.retrain && !state.retrain.pending && !state.retrain.successor;
  const detail = { window: { id: window }, severity, streak, kinds: seen, breaches, retrain };
  await ctx.record({ stage: state.stage, step: 'alert', outcome: 'raised', detail }, STEWARD);
  await ctx.notify(`alert/${state.seq}`, 'monitor.alert', { ...detail, window });
  if (retrain) {
    state.retrain.pending = {
      requestedBy: STEWARD_PRINCIPAL,
      reason: `${severity} alert: ${streak} breaching window${streak === 1 ? '' : 's'} in a row (${seen.join(', ')}); last: ${breaches.slice(0, 3).join('; ')}`,
    };
  }
}
