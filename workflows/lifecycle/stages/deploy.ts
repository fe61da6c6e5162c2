import { ActivityFailure, condition, getExternalWorkflowHandle, log, patched, setHandler, sleep } from '@temporalio/workflow';
import { whyNotServing, type Deployment, type DeployInput, type DeployPhaseStatus } from '../../../core/deployment.js';
import type { LifecycleCheckpoint, Lineage, PromoteRequest, RollbackRequest, Stop } from '../../../core/lifecycle.js';
import type { DeployPhase } from '../../dsl/plan.js';
import { promoteSignal, rollbackSignal, supersededSignal } from '../../messages.js';
import { activities, runtimeActivities, STEWARD } from '../proxies.js';
import type { LifecycleContext } from '../context.js';
import { judgeWindows } from './windows.js';
import * as challenge from './challenge.js';

/** A phase's runtime is probed this often, so an unhealthy candidate is rolled back within about one interval. */
export const PHASE_HEALTH_CHECK_MS = 10_000;
/** Long holds spread their probes out: a phase never records more than this many. */
export const MAX_PROBES_PER_PHASE = 100;
/** Lifecycles that reach a phase on code with runtime health checks (older histories hold without them). */
const HEALTH_CHECKS_PATCH = 'steward:phase-health-checks';
/** Lifecycles whose rolled-back or retired phases drain before they unload (recorded ones unloaded at once). */
const PHASE_DRAIN_PATCH = 'steward:phase-end-drains';

/** The live deployment, the phase under way (shadow, canary), and a request to cut that phase short. */
export interface DeploySlice {
  deployment: Deployment | null;
  phase: DeployPhaseStatus | null;
  promotion: PromoteRequest | null;
  rollback: RollbackRequest | null;
}

export function deploySlice(resume: LifecycleCheckpoint | undefined): DeploySlice {
  return { deployment: resume?.deployment ?? null, phase: null, promotion: null, rollback: null };
}

export function handle(ctx: LifecycleContext): void {
  challenge.handle(ctx);
  const slice = ctx.state.deploy;
  const noPhase = () => `no shadow or canary phase is under way (stage ${ctx.state.stage})`;
  setHandler(promoteSignal, async (request) => {
    const problem = request.refused ?? (slice.phase ? null : noPhase());
    if (problem) return ctx.refuse('promote', request.requestedBy, request.reason, problem);
    slice.promotion ??= request;
  });
  setHandler(rollbackSignal, async (request) => {
    const problem = request.refused ?? (slice.phase ? null : noPhase());
    if (problem) return ctx.refuse('rollback', request.requestedBy, request.reason, problem);
    slice.rollback ??= request;
  });
}

/** Deploy: walks the template's phases (shadow, canary), then replaces the champion. */
export async function run(ctx: LifecycleContext): Promise<Stop | null> {
  const { lineage } = ctx.input;
  ctx.enter('deploy');
  for (const p of ctx.plan.deploy.phases) {
    const stop = await phase(ctx, p);
    if (stop) return stop;
  }
  const deployed = await deploy(ctx, `${ctx.workflowId}/deploy`);
  if (typeof deployed === 'string') return deployFailed(ctx, undefined, deployed);
  ctx.state.deploy.deployment = deployed;
  await ctx.record({ stage: 'deploy', outcome: 'passed', detail: { ...deployed, strategy: 'replace' } }, STEWARD);
  if (lineage) await notifyParentSuperseded(ctx, lineage);
  return null;
}

/**
 * One phase: the candidate is loaded into its runtime and takes its share of traffic for the hold time (or
 * until someone promotes it), its windows judged as they arrive and its runtime probed for health. A breach,
 * a failed health check, a rollback request or a phase ended behind the lifecycle's back rolls it back at
 * once; the champion never stopped serving. A phase with a challenge promotes only a candidate that beat the
 * champion on the phase's labelled requests (challenge.ts); a loser retires.
 */
async function phase(ctx: LifecycleContext, p: DeployPhase): Promise<Stop | null> {
  const slice = ctx.state.deploy;
  const deployed = await deploy(ctx, `${ctx.workflowId}/deploy/${p.name}`, { strategy: p.mode, trafficShare: p.trafficShare });
  if (typeof deployed === 'string') return deployFailed(ctx, p.name, deployed);
  const until = new Date(Date.now() + p.holdMs).toISOString();
  slice.phase = { name: p.name, mode: p.mode, trafficShare: p.trafficShare, until };
  const step = p.name;
  await ctx.record({ stage: 'deploy', step, outcome: 'entered', detail: { ...deployed, strategy: p.mode, trafficShare: p.trafficShare, until } }, STEWARD);
  const healthChecks = patched(HEALTH_CHECKS_PATCH);
  const holdEnds = Date.now() + p.holdMs;
  const held = healthChecks ? await holdWithHealthChecks(ctx, holdEnds, deployed) : { breaches: await hold(ctx, holdEnds), unhealthy: null };
  const cut = slice.promotion;
  const end = (reason: string, keepLoaded = false) => {
    const input = { deploymentId: deployed.deploymentId, at: ctx.now(), reason };
    if (keepLoaded) return endDeployment(ctx, { ...input, keepLoaded });
    // Gateways may still route the phase's share from their cached tables: it drains before it is unloaded.
    return patched(PHASE_DRAIN_PATCH) ? drainAndUnload(ctx, input) : endDeployment(ctx, input);
  };
  const stop = await settle(ctx, p, deployed, held, end);
  if (stop) return stop;

  let reason = cut ? `promoted early: ${cut.reason}` : 'hold time elapsed, healthy';
  if (p.challenge && patched(challenge.CHALLENGE_PATCH)) {
    // The phase goes on (windows judged, runtime probed) while the challenge waits for labels.
    const holdMore = async (extendedUntil: number) => {
      slice.phase = { name: p.name, mode: p.mode, trafficShare: p.trafficShare, until: new Date(extendedUntil).toISOString() };
      const more = await holdWithHealthChecks(ctx, extendedUntil, deployed);
      const judgeNow = slice.promotion !== null;
      return (await settle(ctx, p, deployed, more, end)) ?? (judgeNow ? ('judge-now' as const) : null);
    };
    const judged = await challenge.runChallenge(ctx, p, p.challenge, deployed, { holdMore, end });
    if (typeof judged !== 'string') return judged;
    reason = `${reason}; ${judged}`;
  }
  await end(`promoted after ${p.name}`, true);
  await ctx.record({ stage: 'deploy', step, outcome: 'passed', detail: { reason } }, cut?.requestedBy.id ?? STEWARD);
  return null;
}

/**
 * The end of a hold: the phase is no longer under way, and whatever ended it is acted on. A retirement, a
 * breach, a rollback request or an unhealthy runtime ends the phase deployment and stops the lifecycle; null
 * when the candidate may go on.
 */
async function settle(
  ctx: LifecycleContext,
  p: DeployPhase,
  deployed: Deployment,
  { breaches, unhealthy }: { breaches: string[]; unhealthy: string | null },
  end: (reason: string) => Promise<unknown>,
): Promise<Stop | null> {
  const slice = ctx.state.deploy;
  const { retire } = ctx.state;
  const step = p.name;
  const rollback = slice.rollback;
  slice.phase = null;
  slice.promotion = null;
  slice.rollback = null;

  if (retire.pending) {
    await end(`retired during ${p.name}`);
    return { endedBy: 'retired', reason: retire.pending.reason, actor: retire.pending.requestedBy.id };
  }
  if (breaches.length) {
    await end(`rolled back: ${breaches.join('; ')}`);
    await ctx.record({ stage: 'deploy', step, outcome: 'failed', detail: { reason: 'monitor policy breached', breaches } }, STEWARD);
    return { endedBy: 'rolled-back', reason: `${p.name}: ${breaches.join('; ')}`, actor: STEWARD };
  }
  if (rollback) {
    await end(`rolled back on request: ${rollback.reason}`);
    await ctx.record({ stage: 'deploy', step, outcome: 'failed', detail: { reason: `rolled back on request: ${rollback.reason}` } }, rollback.requestedBy.id);
    return { endedBy: 'rolled-back', reason: `${p.name}: ${rollback.reason}`, actor: rollback.requestedBy.id };
  }
  const problem = unhealthy ?? (await unhealthyBecause(deployed));
  if (problem) {
    await end(`rolled back: ${problem}`);
    await ctx.record({ stage: 'deploy', step, outcome: 'failed', detail: { reason: problem } }, STEWARD);
    return { endedBy: 'rolled-back', reason: `${p.name}: ${problem}`, actor: STEWARD };
  }
  return null;
}

/** Is the phase's deployment gone, or its runtime no longer serving it? Null when healthy. */
async function unhealthyBecause(deployed: Deployment): Promise<string | null> {
  const probe = await activities.probeDeployment({ deploymentId: deployed.deploymentId });
  return probe.ended ? (probe.endReason ?? 'phase deployment ended') : whyNotServing(probe);
}

/** What ends a hold early: a promotion, a rollback, a retirement, or an observed window. */
const interrupted = (ctx: LifecycleContext) => () => {
  const { deploy, retire, monitor } = ctx.state;
  return deploy.promotion !== null || deploy.rollback !== null || retire.pending !== null || monitor.windows.length > 0;
};

/** Holds until `holdEnds` or until someone acts, judging windows as they come; stops at the first breach. */
async function hold(ctx: LifecycleContext, holdEnds: number): Promise<string[]> {
  const breaches: string[] = [];
  while (await condition(interrupted(ctx), Math.max(holdEnds - Date.now(), 0))) {
    if (!ctx.state.monitor.windows.length) break;
    breaches.push(...(await judgeWindows(ctx)));
    if (breaches.length) break;
  }
  return breaches;
}

/**
 * The hold with the runtime probed between windows: every PHASE_HEALTH_CHECK_MS, or for long holds at most
 * MAX_PROBES_PER_PHASE times in all, so a days-long shadow keeps its history small. (Traffic errors reach the
 * lifecycle sooner, as windows from the gateway.) A failed probe ends the hold at once.
 */
async function holdWithHealthChecks(ctx: LifecycleContext, holdEnds: number, deployed: Deployment): Promise<{ breaches: string[]; unhealthy: string | null }> {
  const every = Math.max(PHASE_HEALTH_CHECK_MS, Math.ceil((holdEnds - Date.now()) / MAX_PROBES_PER_PHASE));
  for (let remaining = holdEnds - Date.now(); remaining > 0; remaining = holdEnds - Date.now()) {
    const breaches = await hold(ctx, Date.now() + Math.min(remaining, every));
    if (breaches.length || interrupted(ctx)()) return { breaches, unhealthy: null };
    if (holdEnds - Date.now() <= 0) break;
    const unhealthy = await unhealthyBecause(deployed);
    if (unhealthy) return { breaches: [], unhealthy };
  }
  return { breaches: [], unhealthy: null };
}

/** Loads the version into its target's runtime and records the deployment row; a failure's message if it cannot. */
async function deploy(ctx: LifecycleContext, deploymentId: string, phase: Pick<DeployInput, 'strategy' | 'trafficShare'> = {}): Promise<Deployment | string> {
  const { manifest } = ctx.input;
  try {
    return await runtimeActivities.deployVersion({
      deploymentId,
      modelName: manifest.name,
      modelVersionId: ctx.versionId,
      target: manifest.deploymentTarget,
      at: ctx.now(),
      ...phase,
    });
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    return err.cause?.message ?? err.message;
  }
}

async function deployFailed(ctx: LifecycleContext, step: string | undefined, problem: string): Promise<Stop> {
  await ctx.record({ stage: 'deploy', ...(step ? { step } : {}), outcome: 'failed', detail: { reason: `deploy failed: ${problem}` } }, STEWARD);
  return { endedBy: 'rolled-back', reason: `${step ? `${step}: ` : ''}deploy failed: ${problem}`, actor: STEWARD };
}

/**
 * Ends a deployment row and unloads the version from its runtime. A runtime that stays unreachable does not
 * hold the lifecycle: the row is ended (so no traffic goes there) and the problem is returned to be recorded.
 */
export async function endDeployment(ctx: LifecycleContext, input: Parameters<typeof runtimeActivities.endDeployment>[0]): Promise<string | null> {
  try {
    await runtimeActivities.endDeployment(input);
    return null;
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const problem = err.cause?.message ?? err.message;
    log.warn('could not unload the model', { deploymentId: input.deploymentId, problem, stage: ctx.state.stage });
    return problem;
  }
}

/**
 * Ends the row with the version still loaded, waits on a durable timer while gateways may still route to it
 * from their cached routing tables (the drain the activity answers), then unloads it. A timer rather than a
 * wait inside the activity: it holds no worker slot, survives a worker restart without starting over, and the
 * history shows the drain between the row's end and the unload. The problem to record if the row could not be
 * ended (then nothing is unloaded: gateways still route to it) or the version not unloaded.
 */
export async function drainAndUnload(ctx: LifecycleContext, end: { deploymentId: string; at: string; reason: string }): Promise<string | null> {
  let drainMs: number;
  try {
    drainMs = (await runtimeActivities.endDeployment({ ...end, keepLoaded: true }))?.drainMs ?? 0;
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    return err.cause?.message ?? err.message;
  }
  if (drainMs > 0) await sleep(drainMs);
  return endDeployment(ctx, end);
}

async function notifyParentSuperseded(ctx: LifecycleContext, link: Lineage): Promise<void> {
  try {
    await getExternalWorkflowHandle(link.parentWorkflowId).signal(supersededSignal, { successorWorkflowId: ctx.workflowId, successorVersion: ctx.input.manifest.version });
  } catch (err) {
    // The parent may have been retired already; its deployment row was closed by deployVersion anyway.
    log.warn('could not notify the parent lifecycle', { parent: link.parentWorkflowId, error: String(err) });
  }
}
