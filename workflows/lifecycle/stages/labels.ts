import { log, patched } from '@temporalio/workflow';
import { judgePerformance } from '../../../core/live-monitoring.js';
import type { PerformanceDetail } from '../../../core/evidence.js';
import { activities, STEWARD } from '../proxies.js';
import type { LifecycleContext } from '../context.js';
import { judgeAlerts } from './alerts.js';

/** Windows waiting for their performance; beyond it the oldest wait for their next label. */
export const LABEL_WINDOWS_PENDING = 500;

/** Adds windows whose labels changed (the labels signal), once each. */
export function labelsArrived(ctx: LifecycleContext, windows: readonly string[]): void {
  const pending = ctx.state.monitor.labelled;
  if (!ctx.plan.monitor.performance) {
    log.warn('labels ignored: the template does not judge performance', { windows: windows.length });
    return;
  }
  for (const w of windows) if (!pending.includes(w)) pending.push(w);
  if (pending.length > LABEL_WINDOWS_PENDING) pending.splice(0, pending.length - LABEL_WINDOWS_PENDING);
}

/**
 * Measures each window whose labels changed and records its performance against the template. When the window
 * had been measured before, the record is marked late and names what changed.
 */
export async function judgeLabelledWindows(ctx: LifecycleContext): Promise<void> {
  const { plan, state } = ctx;
  const performance = plan.monitor.performance;
  const pending = state.monitor.labelled;
  if (!performance || !patched('steward:window-labels')) {
    pending.length = 0;
    return;
  }
  for (let window = pending.shift(); window; window = pending.shift()) {
    const result = await activities.evaluateWindowLabels({
      modelVersionId: ctx.versionId,
      window,
      evaluation: state.seq + 1,
      performance,
      protectedAttributes: ctx.input.manifest.protectedAttributes,
    });
    const verdict = judgePerformance(result, performance, plan.monitor.fairness ?? null);
    const { previous } = result;
    const detail: PerformanceDetail = {
      window: { id: window },
      labelled: verdict.labelled,
      metrics: verdict.metrics,
      fairness: verdict.fairness,
      breaches: verdict.breaches,
      skipped: result.skipped,
      ...(previous ? { late: { labelledBefore: previous.labelled, changes: changes(previous.metrics, verdict.metrics) } } : {}),
    };
    const outcome = verdict.tooFewLabels ? 'unjudged' : verdict.breaches.length ? 'breached' : 'passed';
    await ctx.record({ stage: state.stage, step: 'performance', outcome, detail }, STEWARD);
    if (!verdict.tooFewLabels) await judgeAlerts(ctx, window, verdict.kinds, verdict.breaches);
  }
}

function changes(before: Readonly<Record<string, number | null>>, after: Readonly<Record<string, number | null>>) {
  const out: Record<string, { from: number | null; to: number | null }> = {};
  for (const metric of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const from = before[metric] ?? null;
    const to = after[metric] ?? null;
    if (from !== to) out[metric] = { from, to };
  }
  return out;
}
