import { ActivityFailure, log, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { liveMonitoringActivities } from '../../../activities/live-monitoring.js';
import type { BreachKind } from '../../../core/alerts.js';
import { driftColumns, type DriftSummary } from '../../../core/drift.js';
import type { LifecycleCheckpoint } from '../../../core/lifecycle.js';
import { judgeWindowByKind, windowRef, type Observation } from '../../../core/observation.js';
import { computeTaskQueue } from '../../../core/task-queues.js';
import { labelsSignal, observationSignal } from '../../messages.js';
import { STEWARD } from '../proxies.js';
import type { LifecycleContext } from '../context.js';
import { judgeAlerts } from './alerts.js';
import { NO_ALERTS } from '../../../core/alerts.js';
import { labelsArrived } from './labels.js';
import { requestAutomaticRetrain } from './retrain.js';
import type { MonitorSlice } from './monitor.js';
import { runBudgetReached } from './run-budget.js';

/** Reported by the scoring gateway (api/gateway/observation.ts): its sample and outputs are in the request log. */
const GATEWAY_REPORTER = 'gateway';

/** How many window ids a checkpoint carries so that a retried report is still recognised in the next run. */
export const WINDOW_IDS_REMEMBERED = 200;

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
  setHandler(labelsSignal, ({ windows }) => labelsArrived(ctx, windows));
}

/** The windows' part of the state a run resumes from: pending windows and the ids seen most recently. */
export function windowsFrom(resume: LifecycleCheckpoint | undefined): Pick<MonitorSlice, 'windows' | 'seenWindowIds' | 'recentWindowIds' | 'alerts' | 'labelled'> {
  const windows = [...(resume?.pendingWindows ?? [])];
  const recentWindowIds = [...new Set([...(resume?.recentWindowIds ?? []), ...windows.map((w) => w.id)])].slice(-WINDOW_IDS_REMEMBERED);
  return {
    windows,
    recentWindowIds,
    seenWindowIds: new Set([...recentWindowIds, ...windows.map((w) => w.id)]),
    alerts: resume?.alerts ?? NO_ALERTS,
    labelled: [...(resume?.pendingLabelWindows ?? [])],
  };
}

export function windowsCheckpoint(slice: MonitorSlice): Pick<LifecycleCheckpoint, 'pendingWindows' | 'lastDrift' | 'recentWindowIds' | 'alerts' | 'pendingLabelWindows'> {
  const { alerts } = slice;
  return {
    ...(slice.windows.length ? { pendingWindows: [...slice.windows] } : {}),
    ...(slice.lastDrift ? { lastDrift: slice.lastDrift } : {}),
    ...(slice.recentWindowIds.length ? { recentWindowIds: slice.recentWindowIds.slice(-WINDOW_IDS_REMEMBERED) } : {}),
    // Carried only once there is something to carry, so checkpoints of lifecycles without alerts stay as they were.
    ...(alerts.streak > 0 || alerts.lastAlertAt !== null ? { alerts } : {}),
    ...(slice.labelled.length ? { pendingLabelWindows: [...slice.labelled] } : {}),
  };
}

/** Judges every observed window waiting, in arrival order, recording each verdict; returns the breaches. */
export async function judgeWindows(ctx: LifecycleContext): Promise<string[]> {
  const { windows } = ctx.state.monitor;
  const breaches: string[] = [];
  for (let window = windows.shift(); window; window = windows.shift()) {
    const { breaches: found, ...judged } = judgeWindowByKind(window, ctx.plan.monitor);
    const verdict = { errorRate: judged.errorRate, breaches: found.map((b) => b.text), missingKpis: judged.missingKpis };
    const kinds: BreachKind[] = found.map((b) => b.kind);
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
    const said = [...verdict.breaches];
    if (window.sample) {
      const drift = await judgeDrift(ctx, window, window.sample);
      if (drift?.drifted) {
        kinds.push('drift');
        said.push(driftSentence(drift));
      }
    } else if (window.reportedBy === GATEWAY_REPORTER && gatewayDriftWatched(ctx) && patched('steward:gateway-window-drift')) {
      const found = await judgeGatewayDrift(ctx, window);
      kinds.push(...found.kinds);
      said.push(...found.breaches);
    }
    await judgeAlerts(ctx, window.id, kinds, said);
    // A flood of windows must not hold a monitor run open: at the budget the rest wait in the checkpoint (monitor.ts).
    if (ctx.state.stage === 'monitor' && runBudgetReached()) break;
  }
  return breaches;
}

const driftSentence = (s: DriftSummary) => `feature drift: ${s.driftedColumns.length} of ${s.columnsCompared} columns (${s.driftedColumns.slice(0, 5).join(', ')}${s.driftedColumns.length > 5 ? ', …' : ''})`;

/**
 * Whether a gateway window's sample and outputs are compared, in the monitor loop: for templates with live
 * monitoring (an alert policy or prediction drift), when feature drift is watched or prediction drift is set.
 */
function gatewayDriftWatched(ctx: LifecycleContext): boolean {
  const { monitor } = ctx.plan;
  if (ctx.state.stage !== 'monitor' || !ctx.input.manifest.referenceDataset || !(monitor.alerts || monitor.predictionDrift)) return false;
  return (ctx.driftUnwatchedBecause === null && monitor.drift !== null) || Boolean(monitor.predictionDrift);
}

/**
 * Feature drift of a gateway window's sampled inputs and prediction drift of its outputs, on the compute
 * workers. A window the gateway's request log has not written yet is retried for a while; data problems come
 * back as answers and are recorded as failed comparisons.
 */
async function judgeGatewayDrift(ctx: LifecycleContext, window: Observation): Promise<{ kinds: BreachKind[]; breaches: string[] }> {
  const { plan, state } = ctx;
  const { manifest } = ctx.input;
  const { detectWindowDrift } = proxyActivities<ReturnType<typeof liveMonitoringActivities>>({
    taskQueue: computeTaskQueue(workflowInfo().taskQueue),
    startToCloseTimeout: '30 minutes',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 8, nonRetryableErrorTypes: ['UriNotAllowed', 'ArtifactTooLarge'] },
  });
  const watchFeatures = ctx.driftUnwatchedBecause === null && plan.monitor.drift !== null;
  const phase = state.deploy.phase;
  const ref = windowRef(window);
  const kinds: BreachKind[] = [];
  const breaches: string[] = [];
  let result: Awaited<ReturnType<typeof detectWindowDrift>>;
  try {
    result = await detectWindowDrift({
      modelVersionId: ctx.versionId,
      window: window.id,
      reference: manifest.referenceDataset!,
      features: watchFeatures ? { columns: driftColumns(manifest.inputSchema), policy: plan.monitor.drift! } : null,
      prediction: plan.monitor.predictionDrift ?? null,
    });
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const problem = err.cause?.message ?? err.message;
    if (watchFeatures) {
      state.monitor.lastDrift = { at: ctx.now(), window: window.id, outcome: 'failed', share: null, driftedColumns: [] };
      await ctx.record({ stage: state.stage, step: 'drift', outcome: 'failed', detail: { window: ref, sample: { uri: `gateway-window:${window.id}`, sha256: '' }, problem } }, STEWARD);
    }
    if (plan.monitor.predictionDrift) await ctx.record({ stage: state.stage, step: 'prediction-drift', outcome: 'failed', detail: { window: ref, problem } }, STEWARD);
    return { kinds, breaches };
  }
  const { features, prediction, sample } = result;
  if (features && 'problem' in features) {
    state.monitor.lastDrift = { at: ctx.now(), window: window.id, outcome: 'failed', share: null, driftedColumns: [] };
    await ctx.record({ stage: state.stage, step: 'drift', outcome: 'failed', detail: { window: ref, sample, problem: features.problem, ...(phase ? { phase: phase.name } : {}) } }, STEWARD);
  } else if (features) {
    const { summary, report } = features;
    state.monitor.lastDrift = { at: ctx.now(), window: window.id, outcome: summary.drifted ? 'drifted' : 'passed', share: summary.share, driftedColumns: summary.driftedColumns };
    await ctx.record({ stage: state.stage, step: 'drift', outcome: summary.drifted ? 'drifted' : 'passed', detail: { window: ref, sample, ...summary, ...(phase ? { phase: phase.name } : {}) } }, STEWARD, { report });
    if (summary.drifted) {
      kinds.push('drift');
      breaches.push(driftSentence(summary));
      retrainOnDrift(ctx, window, summary);
    }
  }
  if (prediction && 'problem' in prediction) {
    await ctx.record({ stage: state.stage, step: 'prediction-drift', outcome: 'failed', detail: { window: ref, problem: prediction.problem } }, STEWARD);
  } else if (prediction) {
    await ctx.record({ stage: state.stage, step: 'prediction-drift', outcome: prediction.drifted ? 'drifted' : 'passed', detail: { window: ref, ...prediction } }, STEWARD);
    if (prediction.drifted) {
      kinds.push('prediction-drift');
      breaches.push(`prediction drift: ${prediction.column} ${prediction.stattest} ${round(prediction.statistic)} (threshold ${prediction.threshold})`);
    }
  }
  return { kinds, breaches };
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;

/** `retrain.onDrift` of templates without an alert policy (with one, the policy decides). */
function retrainOnDrift(ctx: LifecycleContext, window: Observation, summary: DriftSummary): void {
  if (ctx.plan.monitor.alerts) return;
  requestDriftRetrain(ctx, window, summary);
}

/** A drifted window asks for a retrain when the template retrains on drift (in the monitor stage, none under way). */
function requestDriftRetrain(ctx: LifecycleContext, window: Observation, summary: DriftSummary): void {
  if (!summary.drifted || !ctx.plan.retrain.onDrift) return;
  const columns = summary.driftedColumns;
  const reason = `feature drift in window ${window.id}: ${columns.length} of ${summary.columnsCompared} columns drifted (${columns.slice(0, 5).join(', ')}${columns.length > 5 ? ', …' : ''})`;
  requestAutomaticRetrain(ctx, { kind: 'drift', window: window.id, driftedColumns: columns }, reason);
}

/**
 * Compares the window's sample of live inputs with the reference dataset and records the verdict. Drift
 * is about the data, not the candidate, so it never rolls a phase back; in the monitor loop a template
 * with `retrain.onDrift` starts a retrain.
 */
async function judgeDrift(ctx: LifecycleContext, window: Observation, sample: NonNullable<Observation['sample']>): Promise<DriftSummary | null> {
  const { plan, state } = ctx;
  const { manifest } = ctx.input;
  const policy = plan.monitor.drift;
  const reference = manifest.referenceDataset;
  if (ctx.driftUnwatchedBecause !== null || !policy || !reference) {
    log.warn('sample ignored: drift is not watched', { window: window.id, because: ctx.driftUnwatchedBecause });
    return null;
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
    return null;
  }
  const { summary, report } = result;
  state.monitor.lastDrift = { at: ctx.now(), window: window.id, outcome: summary.drifted ? 'drifted' : 'passed', share: summary.share, driftedColumns: summary.driftedColumns };
  await ctx.record({ stage: state.stage, step: 'drift', outcome: summary.drifted ? 'drifted' : 'passed', detail: { ...about, ...summary } }, STEWARD, { report });
  requestDriftRetrain(ctx, window, summary);
  return summary;
}
