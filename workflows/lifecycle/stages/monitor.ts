import { allHandlersFinished, condition, continueAsNew, makeContinueAsNewFunc, patched, workflowInfo } from '@temporalio/workflow';
import type { LifecycleCheckpoint, LifecycleResult, ModelLifecycle } from '../../../core/lifecycle.js';
import type { AlertState } from '../../../core/alerts.js';
import type { DriftStatus, Observation } from '../../../core/observation.js';
import { activities, STEWARD } from '../proxies.js';
import type { LifecycleContext } from '../context.js';
import * as retire from './retire.js';
import * as retrain from './retrain.js';
import { judgeLabelledWindows } from './labels.js';
import { runBudgetReached } from './run-budget.js';
import { judgeWindows, windowsFrom } from './windows.js';

/** The monitor loop's cycles and observed windows (pending, and ids recently seen), and the last drift verdict. */
export interface MonitorSlice {
  cycles: number;
  readonly windows: Observation[];
  readonly seenWindowIds: Set<string>;
  /** The newest ids of `seenWindowIds`, in arrival order: what a checkpoint carries. */
  readonly recentWindowIds: string[];
  lastDrift: DriftStatus | null;
  /** The alert policy's streak and last alert. */
  alerts: AlertState;
  /** Windows whose labels changed, waiting for their performance to be measured. */
  readonly labelled: string[];
}

export function monitorSlice(resume: LifecycleCheckpoint | undefined): MonitorSlice {
  return { cycles: resume?.monitorCycles ?? 0, lastDrift: resume?.lastDrift ?? null, ...windowsFrom(resume) };
}

/** Watches the live deployment until the version is superseded, retired or reaches its end of life. */
export async function run(ctx: LifecycleContext): Promise<LifecycleResult> {
  const { plan, state } = ctx;
  const { intervalMs, cyclesPerRun } = plan.monitor;
  const { deployment } = state.deploy;
  if (!ctx.input.resume) {
    ctx.enter('monitor');
    const { drift, kpis, maxErrorRate } = plan.monitor;
    await ctx.record({ stage: 'monitor', outcome: 'passed', detail: { intervalMs, deployment, drift, kpis, maxErrorRate } }, STEWARD);
  }
  const endOfLife = plan.retire.maxLifetimeMs === null ? null : Date.parse(deployment!.since) + plan.retire.maxLifetimeMs;
  const { windows } = state.monitor;
  let cyclesThisRun = 0;
  for (;;) {
    const { superseded, pending: retireRequest } = state.retire;
    if (superseded) return retire.run(ctx, { endedBy: 'superseded', reason: `replaced by ${superseded.successorWorkflowId}`, actor: STEWARD });
    if (retireRequest) return retire.run(ctx, retire.retiredBy(retireRequest));
    if (endOfLife !== null && Date.now() >= endOfLife) {
      return retire.run(ctx, { endedBy: 'end-of-life', reason: `reached the template's maximum lifetime (${plan.retire.maxLifetimeMs} ms in production)`, actor: STEWARD });
    }
    // However its iterations came (timer cycles or windows), a run continues-as-new before the server's 4,096-event suggestion.
    if (runBudgetReached()) return continueAtBoundary(ctx);
    if (windows.length) {
      // Breaches are recorded (and so published as events); the version keeps serving until people act.
      await judgeWindows(ctx);
      continue;
    }
    if (state.monitor.labelled.length) {
      await judgeLabelledWindows(ctx);
      continue;
    }
    retrain.checkSchedule(ctx);
    if (state.retrain.pending) {
      await retrain.run(ctx, state.retrain.pending);
      state.retrain.pending = null;
      continue;
    }
    if (cyclesThisRun >= cyclesPerRun || workflowInfo().continueAsNewSuggested) return continueAtBoundary(ctx);
    const untilScheduled = retrain.msUntilScheduled(ctx);
    const wait = Math.min(endOfLife === null ? intervalMs : Math.max(Math.min(intervalMs, endOfLife - Date.now()), 0), untilScheduled ?? Infinity);
    const interrupted = await condition(
      () =>
        state.retire.superseded !== null || state.retire.pending !== null || state.retrain.pending !== null || windows.length > 0 || state.monitor.labelled.length > 0,
      wait,
    );
    if (interrupted || (endOfLife !== null && Date.now() >= endOfLife) || retrain.msUntilScheduled(ctx) === 0) continue;
    cyclesThisRun += 1;
    state.monitor.cycles += 1;
    const probe = await activities.probeDeployment({ deploymentId: deployment!.deploymentId });
    if (probe.ended && !state.retire.superseded) return retire.run(ctx, { endedBy: 'superseded', reason: probe.endReason ?? 'deployment ended', actor: STEWARD });
  }
}

/**
 * The safe point between two runs of the monitor loop. A template version that declares `migrateFrom`
 * this lifecycle's version takes over here, behind a patch marker, so histories recorded before the
 * migration existed replay unchanged.
 */
async function continueAtBoundary(ctx: LifecycleContext): Promise<never> {
  const { input, state } = ctx;
  await condition(allHandlersFinished);
  const from = input.template;
  const target = from !== undefined ? ctx.registry.migrationFrom(from) : null;
  if (from !== undefined && target && patched(`steward:template-migration:${from}->${target.ref}`)) {
    await ctx.record({ stage: state.stage, step: 'template', outcome: 'migrated', detail: { from, to: target.ref } }, STEWARD);
    await condition(allHandlersFinished);
    const continueOnTarget = makeContinueAsNewFunc<ModelLifecycle>({ memo: { ...workflowInfo().memo, template: target.ref } });
    return continueOnTarget({ ...input, template: target.ref, resume: state.checkpoint() });
  }
  return continueAsNew<ModelLifecycle>({ ...input, resume: state.checkpoint() });
}
