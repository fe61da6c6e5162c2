import { ActivityFailure, log, setHandler } from '@temporalio/workflow';
import { driftColumns } from '../../../core/drift.js';
import type { LifecycleCheckpoint } from '../../../core/lifecycle.js';
import { judgeWindow, windowRef, type Observation } from '../../../core/observation.js';
import type { Principal } from '../../../core/principal.js';
import { observationSignal } from '../../messages.js';
import { STEWARD } from '../proxies.js';
import type { LifecycleContext } from '../context.js';
import type { MonitorSlice } from './monitor.js';

/** How many window ids a checkpoint carries so that a retried report is still recognised in the next run. */
export const WINDOW_IDS_REMEMBERED = 200;
/** Who asks for a retrain the template starts on its own (on drift). */
const STEWARD_PRINCIPAL: Principal = { id: STEWARD, roles: [] };

/** Observed windows arrive in deploy phases and in the monitor loop; each id is judged once. */
export function handle(ctx: LifecycleContext): void {
  const { state } = ctx;
  const slice = state.monitor;
  setHandler(observationSignal, (window) => {
    if (slice.seenWindowIds.has(window.id)) return;
    slice.seenWindowIds.add(window.id);
    slice.recentWindowIds.push(window.id);
    if (slice.recentWindowIds.length > WINDOW_IDS_REMEMBERED) slice.recentWindowIds.shift();
    if (!state.deploy.deployment && !state.deploy.phase) {
      log.warn('observation ignored: the version is not serving', { stage: state.stage, window: window.id });
      return;
    }
    slice.windows.push(window);
  });
}

/** The windows' part of the state a run resumes from: pending windows and the ids seen most recently. */
export function windowsFrom(resume: LifecycleCheckpoint | undefined): Pick<MonitorSlice, 'windows' | 'seenWindowIds' | 'recentWindowIds'> {
  const windows = [...(resume?.pendingWindows ?? [])];
  const recentWindowIds = [...new Set([...(resume?.recentWindowIds ?? []), ...windows.map((w) => w.id)])].slice(-WINDOW_IDS_REMEMBERED);
  return { windows, recentWindowIds, seenWindowIds: new Set([...recentWindowIds, ...windows.map((w) => w.id)]) };
}

export function windowsCheckpoint(slice: MonitorSlice): Pick<LifecycleCheckpoint, 'pendingWindows' | 'lastDrift' | 'recentWindowIds'> {
  return {
    ...(slice.windows.length ? { pendingWindows: [...slice.windows] } : {}),
    ...(slice.lastDrift ? { lastDrift: slice.lastDrift } : {}),
    ...(slice.recentWindowIds.length ? { recentWindowIds: slice.recentWindowIds.slice(-WINDOW_IDS_REMEMBERED) } : {}),
  };
}

/** Judges every observed window waiting, in arrival order, recording each verdict; returns the breaches. */
export async function judgeWindows(ctx: LifecycleContext): Promise<string[]> {
  const { windows } = ctx.state.monitor;
  const breaches: string[] = [];
  for (let window = windows.shift(); window; window = windows.shift()) {
    const verdict = judgeWindow(window, ctx.plan.monitor);
    const { requests, errors, kpis } = window;
    const phase = ctx.state.deploy.phase;
    await ctx.record(
      {
        stage: ctx.state.stage,
        step: 'observation',
        outcome: verdict.breaches.length ? 'breached' : 'passed',
        detail: { window: windowRef(window), requests, errors, kpis, ...verdict, ...(phase ? { phase: phase.name } : {}) },
      },
      STEWARD,
    );
    breaches.push(...verdict.breaches);
    if (window.sample) await judgeDrift(ctx, window, window.sample);
  }
  return breaches;
}

/**
 * Compares the window's sample of live inputs with the reference dataset and records the verdict. Drift
 * is about the data, not the candidate, so it never rolls a phase back; in the monitor loop a template
 * with `retrain.onDrift` starts a retrain.
 */
async function judgeDrift(ctx: LifecycleContext, window: Observation, sample: NonNullable<Observation['sample']>): Promise<void> {
  const { plan, state } = ctx;
  const { manifest } = ctx.input;
  const policy = plan.monitor.drift;
  const reference = manifest.referenceDataset;
  if (ctx.driftUnwatchedBecause !== null || !policy || !reference) {
    log.warn('sample ignored: drift is not watched', { window: window.id, because: ctx.driftUnwatchedBecause });
    return;
  }
  const phase = state.deploy.phase;
  const about = { window: windowRef(window), sample, ...(phase ? { phase: phase.name } : {}) };
  let result: Awaited<ReturnType<typeof ctx.detectDrift>>;
  try {
    result = await ctx.detectDrift({ modelVersionId: ctx.versionId, window: window.id, reference, sample, columns: driftColumns(manifest.inputSchema), policy });
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const problem = err.cause?.message ?? err.message;
    state.monitor.lastDrift = { at: ctx.now(), window: window.id, outcome: 'failed', share: null, driftedColumns: [] };
    await ctx.record({ stage: state.stage, step: 'drift', outcome: 'failed', detail: { ...about, problem } }, STEWARD);
    return;
  }
  const { summary, report } = result;
  state.monitor.lastDrift = { at: ctx.now(), window: window.id, outcome: summary.drifted ? 'drifted' : 'passed', share: summary.share, driftedColumns: summary.driftedColumns };
  await ctx.record({ stage: state.stage, step: 'drift', outcome: summary.drifted ? 'drifted' : 'passed', detail: { ...about, ...summary } }, STEWARD, { report });
  if (summary.drifted && plan.retrain.onDrift && state.stage === 'monitor' && !state.retrain.pending && !state.retrain.successor) {
    const columns = summary.driftedColumns;
    state.retrain.pending = {
      requestedBy: STEWARD_PRINCIPAL,
      reason: `feature drift in window ${window.id}: ${columns.length} of ${summary.columnsCompared} columns drifted (${columns.slice(0, 5).join(', ')}${columns.length > 5 ? ', …' : ''})`,
    };
  }
}
