import { getExternalWorkflowHandle, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ComputeActivities } from '../../../activities/index.js';
import { judgeChallenge, type ChallengeDetail, type ChallengeMeasurement, type ChallengePolicy, type ChallengeVerdict } from '../../../core/challenge.js';
import type { Deployment } from '../../../core/deployment.js';
import type { Stop } from '../../../core/lifecycle.js';
import { computeTaskQueue } from '../../../core/task-queues.js';
import type { DeployPhase } from '../../dsl/plan.js';
import { challengerRetiredSignal } from '../../messages.js';
import { STEWARD } from '../proxies.js';
import type { LifecycleContext } from '../context.js';

/** Lifecycles that judge a phase's challenge (the option arrived with templates released after it). */
export const CHALLENGE_PATCH = 'steward:phase-challenge';
/** While waiting for labels the phase is measured again at most this many times, so a long wait keeps history small. */
export const MAX_LABEL_CHECKS = 10;
/** …and no more often than this. */
const MIN_LABEL_CHECK_MS = 60_000;

/**
 * The parent's side: the successor its retrain started lost its challenge and retired, so this version stays in
 * production and may retrain again (a successor under way holds every retrain off). Recorded for the audit trail.
 */
export function handle(ctx: LifecycleContext): void {
  const { state } = ctx;
  setHandler(challengerRetiredSignal, async (notice) => {
    if (state.retrain.successor?.workflowId !== notice.successorWorkflowId) return;
    state.retrain.successor = null;
    state.retrain.lastLostVersion = notice.successorVersion;
    // Back from waiting on the successor: monitoring, where a retrain may be asked for again.
    if (state.stage === 'retrain') ctx.enter('monitor');
    await ctx.record({ stage: state.stage, step: 'successor', outcome: 'failed', detail: { reason: notice.reason, successor: notice.successorWorkflowId } }, STEWARD);
  });
}

/** What the deploy stage lends the challenge while it waits for labels. */
export interface PhaseControl {
  /**
   * Holds the phase (windows judged, runtime probed) until `until`: a Stop when a breach, a rollback, a retirement
   * or a lost deployment ended it, `judge-now` after a promotion request, else null.
   */
  holdMore(until: number): Promise<Stop | 'judge-now' | null>;
  /** Ends the phase deployment and unloads the candidate. */
  end(reason: string): Promise<unknown>;
}

/**
 * Judges the phase's challenge once its hold is over: the candidate's metric on the phase's labelled requests
 * against the champion's. Too few labels extend the hold (up to the template's `waitForLabels`). Returns the
 * sentence a promotion records when the candidate won (or had no champion to beat); otherwise the phase
 * deployment is ended, the parent of a retrained candidate is told, and the lifecycle retires with the reason.
 */
export async function runChallenge(ctx: LifecycleContext, p: DeployPhase, policy: ChallengePolicy, deployed: Deployment, control: PhaseControl): Promise<string | Stop> {
  const measure = measurer(ctx, p, policy, deployed);
  let measured = await measure();
  let verdict = judgeChallenge(measured, policy);
  if (verdict.outcome === 'unjudged' && policy.maxExtensionMs > 0) {
    const until = Date.now() + policy.maxExtensionMs;
    await ctx.record({ stage: 'deploy', step: 'challenge', outcome: 'unjudged', detail: detailOf(p, policy, measured, verdict, new Date(until).toISOString()) }, STEWARD);
    const every = Math.max(MIN_LABEL_CHECK_MS, Math.ceil(policy.maxExtensionMs / MAX_LABEL_CHECKS));
    while (verdict.outcome === 'unjudged' && Date.now() < until) {
      const held = await control.holdMore(Math.min(until, Date.now() + every));
      if (held !== null && held !== 'judge-now') return held;
      measured = await measure();
      verdict = judgeChallenge(measured, policy);
      if (held === 'judge-now') break;
    }
  }
  const detail = detailOf(p, policy, measured, verdict);
  if (verdict.outcome === 'won' || verdict.outcome === 'uncontested') {
    await ctx.record({ stage: 'deploy', step: 'challenge', outcome: 'passed', detail }, STEWARD);
    return verdict.reason;
  }
  await ctx.record({ stage: 'deploy', step: 'challenge', outcome: verdict.outcome === 'lost' ? 'failed' : 'unjudged', detail }, STEWARD);
  const reason = `${p.name}: ${verdict.outcome === 'lost' ? verdict.reason : `not judged: ${verdict.reason}`}`;
  await control.end(`retired: ${reason}`);
  await ctx.record({ stage: 'deploy', step: p.name, outcome: 'failed', detail: { reason } }, STEWARD);
  await notifyParent(ctx, reason);
  return { endedBy: 'retired', reason, actor: STEWARD };
}

function measurer(ctx: LifecycleContext, p: DeployPhase, policy: ChallengePolicy, deployed: Deployment): () => Promise<ChallengeMeasurement> {
  // Catalog reads over the phase's requests: seconds, on the compute workers beside drift.
  const { measureChallenge } = proxyActivities<ComputeActivities>({
    taskQueue: computeTaskQueue(workflowInfo().taskQueue),
    startToCloseTimeout: '5 minutes',
    retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 10 },
  });
  const { manifest } = ctx.input;
  return () =>
    measureChallenge({
      modelName: manifest.name,
      target: deployed.target,
      mode: p.mode,
      challenger: { modelVersionId: ctx.versionId, deploymentId: deployed.deploymentId },
      from: deployed.since,
      to: ctx.now(),
      policy: { metric: policy.metric, task: policy.task, output: policy.output, threshold: policy.threshold },
    });
}

function detailOf(p: DeployPhase, policy: ChallengePolicy, measured: ChallengeMeasurement, verdict: ChallengeVerdict, extendedUntil?: string): ChallengeDetail {
  return {
    phase: p.name,
    ...measured,
    outcome: verdict.outcome,
    margin: policy.margin,
    minLabelled: policy.minLabelled,
    improvement: verdict.improvement,
    reason: verdict.reason,
    ...(extendedUntil ? { extendedUntil } : {}),
  };
}

/** A retrained candidate that will not replace its parent says so, so the parent may retrain again. */
async function notifyParent(ctx: LifecycleContext, reason: string): Promise<void> {
  const parent = ctx.input.lineage?.parentWorkflowId;
  if (!parent) return;
  try {
    await getExternalWorkflowHandle(parent).signal(challengerRetiredSignal, { successorWorkflowId: ctx.workflowId, successorVersion: ctx.input.manifest.version, reason });
  } catch (err) {
    // The parent may have ended meanwhile; nothing waits for this notice then.
    log.warn('could not notify the parent lifecycle', { parent, error: String(err) });
  }
}
