import { ActivityCancellationType, ActivityFailure, CancellationScope, condition, isCancellation, ParentClosePolicy, patched, proxyActivities, setHandler, startChild, workflowInfo } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { ComputeActivities } from '../../../activities/index.js';
import type { LifecycleCheckpoint, LifecycleInput, Lineage, ModelLifecycle, RetrainRequest, Successor } from '../../../core/lifecycle.js';
import type { ModelManifest } from '../../../core/manifest.js';
import { bumpVersion, lifecycleWorkflowId } from '../../../core/model-id.js';
import type { Principal } from '../../../core/principal.js';
import { lifecycleSearchAttributes } from '../../../core/search-attributes.js';
import { computeTaskQueue } from '../../../core/task-queues.js';
import {
  noNewArtifactBecause,
  scheduledRetrainDue,
  tooSoonBecause,
  type RetrainTrigger,
  type TrainedVersion,
  type TrainingJob,
  type TrainingLineage,
  type TrainingRunner,
} from '../../../core/training.js';
import { retrainSignal } from '../../messages.js';
import { STEWARD } from '../proxies.js';
import type { LifecycleContext } from '../context.js';

/** Lifecycles that retrain through the template's runner (older histories copied the parent's artifacts). */
const RUNNER_PATCH = 'steward:retrain-runner';
/** Who asks for the retrains a template starts on its own (drift, alerts, its schedule). */
const STEWARD_PRINCIPAL: Principal = { id: STEWARD, roles: [] };

/** A retrain waiting for the monitor loop to act on it, the successor once one was started, and when the last retrain began. */
export interface RetrainSlice {
  pending: RetrainRequest | null;
  successor: Successor | null;
  /** When the last retrain began (whatever came of it): the schedule and the minimum interval count from here. */
  lastRetrainAt: string | null;
  /** The version of the last successor that lost its challenge and retired; its number is taken for good. */
  lastLostVersion: string | null;
}

export function retrainSlice(resume: LifecycleCheckpoint | undefined): RetrainSlice {
  return { pending: resume?.pendingRetrain ?? null, successor: resume?.successor ?? null, lastRetrainAt: resume?.lastRetrainAt ?? null, lastLostVersion: resume?.lastLostVersion ?? null };
}

export function handle(ctx: LifecycleContext): void {
  setHandler(retrainSignal, async (request) => {
    const problem = requestRetrain(ctx, request);
    if (problem) return ctx.refuse('retrain', request.requestedBy, request.reason, problem);
  });
}

/**
 * The one way a retrain is asked for, whoever asks: a person (the retrain signal), a drift verdict, an alert
 * or the template's schedule (those through `requestAutomaticRetrain`). Queues it for the monitor loop and
 * returns null, or returns why not: refused by the API already, not in the monitor stage, or a retrain already
 * under way. The template's minimum interval is judged when the retrain runs, so its refusal is recorded there.
 */
export function requestRetrain(ctx: LifecycleContext, request: RetrainRequest): string | null {
  const { state } = ctx;
  // Steward never starts a second successor; a person's request is refused for one only where requests are answered.
  const successorBlocks = request.requestedBy.id === STEWARD || ctx.requestsAnswered;
  const problem =
    request.refused ??
    (state.stage !== 'monitor'
      ? `only a version in the monitor stage can be retrained (stage ${state.stage})`
      : state.retrain.pending || (successorBlocks && state.retrain.successor)
        ? 'a retrain is already under way'
        : null);
  if (problem === null) state.retrain.pending = request;
  return problem;
}

/** Lifecycles whose automatic requests carry their trigger (before, the retrain inferred it from the last drift verdict). */
const TRIGGER_CARRIED_PATCH = 'steward:retrain-trigger-carried';

/** A retrain Steward asks for on drift, an alert or the schedule, with its trigger as evidence: `requestRetrain`'s answer. */
export function requestAutomaticRetrain(ctx: LifecycleContext, trigger: Exclude<RetrainTrigger, { kind: 'manual' }>, reason: string): string | null {
  const carried = trigger.kind === 'schedule' || patched(TRIGGER_CARRIED_PATCH);
  return requestRetrain(ctx, { requestedBy: STEWARD_PRINCIPAL, reason, ...(carried ? { trigger } : {}) });
}

/**
 * The template's schedule (`retrain.schedule.every`): milliseconds until the next scheduled retrain is due,
 * counted from the last retrain or else from when the version went live; null without a schedule. The monitor
 * loop waits no longer than this.
 */
export function msUntilScheduled(ctx: LifecycleContext): number | null {
  const every = ctx.plan.retrain.schedule?.everyMs;
  const since = ctx.state.retrain.lastRetrainAt ?? ctx.state.deploy.deployment?.since;
  if (every === undefined || !since) return null;
  return Math.max(scheduledRetrainDue(since, every) - Date.now(), 0);
}

/** Queues the scheduled retrain once it is due (and nothing else is under way); the monitor loop calls it each turn. */
export function checkSchedule(ctx: LifecycleContext): void {
  const wait = msUntilScheduled(ctx);
  const { retrain } = ctx.state;
  if (wait === null || wait > 0 || retrain.pending || retrain.successor) return;
  const everyMs = ctx.plan.retrain.schedule!.everyMs;
  const days = Math.round((everyMs / 86_400_000) * 100) / 100;
  requestAutomaticRetrain(ctx, { kind: 'schedule', due: ctx.now(), everyMs }, `scheduled retrain (every ${days} days)`);
}

/** The request's trigger; requests recorded before triggers were carried are drift (when Steward asked) or manual. */
function triggerOf(ctx: LifecycleContext, request: RetrainRequest): RetrainTrigger {
  if (request.trigger) return request.trigger;
  const drift = ctx.state.monitor.lastDrift;
  if (request.requestedBy.id === STEWARD && drift?.outcome === 'drifted') return { kind: 'drift', window: drift.window, driftedColumns: drift.driftedColumns };
  return { kind: 'manual' };
}

/**
 * Retrain: trains the next version with the template's runner (when it has one and the request brings no
 * candidate of its own), then starts it as a child lifecycle (abandoned on close, so it outlives this one)
 * with a lineage link back here: parent, trigger and training data. The child goes through every gate and
 * supersedes this version once deployed. A run that fails, is cancelled, or produces no new bytes creates no
 * version; the record says why and the lifecycle goes on monitoring.
 */
export async function run(ctx: LifecycleContext, request: RetrainRequest): Promise<void> {
  const { input, plan, workflowId, versionId, state } = ctx;
  const { manifest } = input;
  const trigger = triggerOf(ctx, request);
  const runner = plan.retrain.runner;
  const trains = runner !== undefined && !request.artifacts && patched(RUNNER_PATCH);
  if (trains && trigger.kind !== 'manual') {
    // Drift and alerts may pile up right after a retrain; the template's minimum interval holds them off.
    const tooSoon = tooSoonBecause(state.retrain.lastRetrainAt, plan.retrain.minIntervalMs ?? null, Date.now());
    if (tooSoon) {
      await ctx.record({ stage: state.stage, step: 'request', outcome: 'refused', detail: { request: 'retrain', reason: request.reason, problem: tooSoon } }, request.requestedBy.id);
      return;
    }
  }
  ctx.enter('retrain');
  // A successor that lost its challenge keeps its version number (its history and catalog rows stay), so the next
  // one numbers past it. Only lifecycles whose successor lost reach the marker: other histories replay unchanged.
  const lost = state.retrain.lastLostVersion;
  const version = bumpVersion(lost !== null && patched('steward:retrain-past-lost') ? lost : manifest.version, plan.retrain.versionBump);
  let childManifest: ModelManifest = {
    ...manifest,
    version,
    artifacts: request.artifacts ? [...request.artifacts] : manifest.artifacts,
    metrics: request.metrics ? { ...request.metrics } : manifest.metrics,
  };
  let training: TrainingLineage | undefined;
  if (trains) {
    state.retrain.lastRetrainAt = ctx.now();
    const job: TrainingJob = {
      runKey: `${workflowId}/retrain/${state.seq + 1}`,
      workflowId,
      modelName: manifest.name,
      parentVersion: manifest.version,
      version,
      parentArtifacts: manifest.artifacts,
      trainingData: manifest.trainingData,
      trigger,
      reason: request.reason,
    };
    await ctx.record(
      { stage: 'retrain', step: 'training', outcome: 'entered', detail: { reason: request.reason, trigger, runner: runner.kind, runKey: job.runKey } },
      request.requestedBy.id,
    );
    const trained = await train(ctx, job, runner, request);
    if (typeof trained === 'string') {
      ctx.enter('monitor');
      return;
    }
    childManifest = {
      ...childManifest,
      artifacts: [...trained.artifacts],
      metrics: { ...trained.metrics },
      trainingData: trained.trainingData.length ? [...trained.trainingData] : manifest.trainingData,
    };
    training = {
      runner: runner.kind,
      runKey: job.runKey,
      trigger,
      trainingData: childManifest.trainingData,
      ...(trained.logDigest ? { logDigest: trained.logDigest } : {}),
    };
  }
  const childWorkflowId = lifecycleWorkflowId(childManifest);
  // Whoever registered an ancestor whose artifacts the child reuses authored it too, and may not approve it.
  const reusesArtifacts = childManifest.artifacts.some((a) => manifest.artifacts.some((b) => b.sha256 === a.sha256));
  const lineage: Lineage = {
    parentWorkflowId: workflowId,
    parentModelVersionId: versionId,
    reason: request.reason,
    // The trigger whether or not a runner trained the version: the catalog's lineage edge shows it.
    trigger,
    ...(training ? { training } : {}),
  };
  const childInput: LifecycleInput = {
    manifest: childManifest,
    registeredBy: request.requestedBy,
    ...(reusesArtifacts ? { authors: [input.registeredBy, ...(input.authors ?? [])] } : {}),
    ...(input.template !== undefined ? { template: input.template } : { policy: input.policy }),
    lineage,
  };
  try {
    await startChild<ModelLifecycle>('modelLifecycle', {
      workflowId: childWorkflowId,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: lifecycleSearchAttributes(childManifest, 'register'),
      memo: { template: plan.template, registeredBy: request.requestedBy.id },
      args: [childInput],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    await ctx.record({ stage: 'retrain', outcome: 'failed', detail: { reason: request.reason, problem: `${childWorkflowId} already exists` } }, request.requestedBy.id);
    ctx.enter('monitor');
    return;
  }
  ctx.state.retrain.successor = { workflowId: childWorkflowId, version };
  await ctx.record(
    { stage: 'retrain', outcome: 'passed', detail: { reason: request.reason, successor: childWorkflowId, ...(training ? { trigger, training } : {}) } },
    request.requestedBy.id,
  );
}

/**
 * Runs the runner and fingerprints what it produced, cancelled by a retire request. Returns the trained
 * version, or (once recorded) why there is none.
 */
async function train(ctx: LifecycleContext, job: TrainingJob, runner: TrainingRunner, request: RetrainRequest): Promise<TrainedVersion | string> {
  const { retire } = ctx.state;
  const by = request.requestedBy.id;
  const scope = new CancellationScope();
  const running = scope.run(() => trainAndFingerprint(ctx, job, runner));
  let retired = false;
  let trained: TrainedVersion;
  try {
    const first = await Promise.race([running, condition(() => retire.pending !== null).then(() => 'retire' as const)]);
    if (first === 'retire') {
      retired = true;
      scope.cancel();
      trained = await running;
    } else trained = first;
  } catch (err) {
    if (retired || isCancellation(err)) {
      const reason = retire.pending?.reason ?? 'cancelled';
      await ctx.record({ stage: 'retrain', step: 'training', outcome: 'cancelled', detail: { reason: `retired during training: ${reason}` } }, retire.pending?.requestedBy.id ?? by);
      return 'cancelled';
    }
    if (!(err instanceof ActivityFailure)) throw err;
    const problem = err.cause?.message ?? err.message;
    await ctx.record({ stage: 'retrain', step: 'training', outcome: 'failed', detail: { reason: request.reason, problem } }, by);
    return problem;
  }
  const unchanged = noNewArtifactBecause(ctx.input.manifest.artifacts, trained.artifacts);
  if (unchanged) {
    await ctx.record({ stage: 'retrain', step: 'training', outcome: 'unchanged', detail: { reason: request.reason, problem: unchanged, ...trainingDetail(trained) } }, by);
    return unchanged;
  }
  await ctx.record({ stage: 'retrain', step: 'training', outcome: 'passed', detail: { reason: request.reason, ...trainingDetail(trained) } }, by);
  return trained;
}

const trainingDetail = (t: TrainedVersion) => ({
  artifacts: t.artifacts,
  metrics: t.metrics,
  trainingData: t.trainingData,
  summary: t.summary,
  ...(t.logDigest ? { logDigest: t.logDigest } : {}),
});

async function trainAndFingerprint(ctx: LifecycleContext, job: TrainingJob, runner: TrainingRunner): Promise<TrainedVersion> {
  const taskQueue = computeTaskQueue(workflowInfo().taskQueue);
  const final = ['TrainingFailed', 'TrainingRefused', 'UriNotAllowed', 'ArtifactTooLarge'];
  let output;
  if (runner.kind === 'command') {
    // Heartbeats tell a dead worker from a long run; a failed run is final (its log says why).
    const { runTrainingCommand } = proxyActivities<ComputeActivities>({
      taskQueue,
      startToCloseTimeout: runner.timeoutMs + 60_000,
      heartbeatTimeout: '1 minute',
      // A retire waits until the process group is actually gone.
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      retry: { initialInterval: '10 seconds', maximumAttempts: 2, nonRetryableErrorTypes: final },
    });
    output = await runTrainingCommand({ job, runner });
  } else {
    // The pipeline calls back hours or days later; no heartbeats, only the runner's timeout.
    const { runTrainingWebhook } = proxyActivities<ComputeActivities>({
      taskQueue,
      startToCloseTimeout: runner.timeoutMs,
      retry: { initialInterval: '30 seconds', maximumAttempts: 3, nonRetryableErrorTypes: final },
    });
    output = await runTrainingWebhook({ job, runner });
  }
  const { fingerprintTrainingOutputs } = proxyActivities<ComputeActivities>({
    taskQueue,
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '5 minutes',
    retry: { initialInterval: '5 seconds', maximumAttempts: 3, nonRetryableErrorTypes: final },
  });
  const artifacts = await fingerprintTrainingOutputs({ files: output.artifacts });
  return {
    artifacts,
    metrics: output.metrics,
    trainingData: output.trainingData,
    summary: output.summary,
    ...(output.logDigest ? { logDigest: output.logDigest } : {}),
  };
}
