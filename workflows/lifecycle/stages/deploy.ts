import { condition, getExternalWorkflowHandle, log, setHandler } from '@temporalio/workflow';
import type { Deployment, DeployPhaseStatus } from '../../../core/deployment.js';
import type { LifecycleCheckpoint, Lineage, PromoteRequest, Stop } from '../../../core/lifecycle.js';
import type { DeployPhase } from '../../dsl/plan.js';
import { promoteSignal, supersededSignal } from '../../messages.js';
import { activities, STEWARD } from '../proxies.js';
import type { LifecycleContext } from '../context.js';
import { judgeWindows } from './windows.js';

/** The live deployment, the phase under way (shadow, canary), and a request to cut that phase short. */
export interface DeploySlice {
  deployment: Deployment | null;
  phase: DeployPhaseStatus | null;
  promotion: PromoteRequest | null;
}

export function deploySlice(resume: LifecycleCheckpoint | undefined): DeploySlice {
  return { deployment: resume?.deployment ?? null, phase: null, promotion: null };
}

export function handle(ctx: LifecycleContext): void {
  const slice = ctx.state.deploy;
  setHandler(promoteSignal, async (request) => {
    const problem = request.refused ?? (slice.phase ? null : `no shadow or canary phase is under way (stage ${ctx.state.stage})`);
    if (problem) return ctx.refuse('promote', request.requestedBy, request.reason, problem);
    slice.promotion ??= request;
  });
}

/** Deploy: walks the template's phases (shadow, canary), then replaces the champion. */
export async function run(ctx: LifecycleContext): Promise<Stop | null> {
  const { manifest, lineage } = ctx.input;
  ctx.enter('deploy');
  for (const p of ctx.plan.deploy.phases) {
    const stop = await phase(ctx, p);
    if (stop) return stop;
  }
  const deployment = await activities.deployVersion({
    deploymentId: `${ctx.workflowId}/deploy`,
    modelName: manifest.name,
    modelVersionId: ctx.versionId,
    target: manifest.deploymentTarget,
    at: ctx.now(),
  });
  ctx.state.deploy.deployment = deployment;
  await ctx.record({ stage: 'deploy', outcome: 'passed', detail: { ...deployment, strategy: 'replace' } }, STEWARD);
  if (lineage) await notifyParentSuperseded(ctx, lineage);
  return null;
}

/**
 * One phase: the candidate takes its share of traffic for the hold time (or until someone promotes it),
 * then must still be healthy to go on. A phase ended behind the lifecycle's back rolls the version back.
 */
async function phase(ctx: LifecycleContext, p: DeployPhase): Promise<Stop | null> {
  const { manifest } = ctx.input;
  const slice = ctx.state.deploy;
  const { retire, monitor } = ctx.state;
  const phaseDeployment = await activities.deployVersion({
    deploymentId: `${ctx.workflowId}/deploy/${p.name}`,
    modelName: manifest.name,
    modelVersionId: ctx.versionId,
    target: manifest.deploymentTarget,
    at: ctx.now(),
    strategy: p.mode,
    trafficShare: p.trafficShare,
  });
  const until = new Date(Date.now() + p.holdMs).toISOString();
  slice.phase = { name: p.name, mode: p.mode, trafficShare: p.trafficShare, until };
  const step = p.name;
  await ctx.record({ stage: 'deploy', step, outcome: 'entered', detail: { ...phaseDeployment, strategy: p.mode, trafficShare: p.trafficShare, until } }, STEWARD);
  // Hold until the time is up or someone promotes; judge observed windows as they come, and stop at a breach.
  const holdEnds = Date.now() + p.holdMs;
  const breaches: string[] = [];
  while (await condition(() => slice.promotion !== null || retire.pending !== null || monitor.windows.length > 0, Math.max(holdEnds - Date.now(), 0))) {
    if (!monitor.windows.length) break;
    breaches.push(...(await judgeWindows(ctx)));
    if (breaches.length) break;
  }
  const cut = slice.promotion;
  slice.phase = null;
  slice.promotion = null;
  const end = (reason: string) => activities.endDeployment({ deploymentId: phaseDeployment.deploymentId, at: ctx.now(), reason });

  if (retire.pending) {
    await end(`retired during ${p.name}`);
    return { endedBy: 'retired', reason: retire.pending.reason, actor: retire.pending.requestedBy.id };
  }
  if (breaches.length) {
    await end(`rolled back: ${breaches.join('; ')}`);
    await ctx.record({ stage: 'deploy', step, outcome: 'failed', detail: { reason: 'monitor policy breached', breaches } }, STEWARD);
    return { endedBy: 'rolled-back', reason: `${p.name}: ${breaches.join('; ')}`, actor: STEWARD };
  }
  const probe = await activities.probeDeployment({ deploymentId: phaseDeployment.deploymentId });
  if (probe.ended) {
    const reason = probe.endReason ?? 'phase deployment ended';
    await ctx.record({ stage: 'deploy', step, outcome: 'failed', detail: { reason } }, STEWARD);
    return { endedBy: 'rolled-back', reason: `${p.name}: ${reason}`, actor: STEWARD };
  }
  const reason = cut ? `promoted early: ${cut.reason}` : 'hold time elapsed, healthy';
  await end(`promoted after ${p.name}`);
  await ctx.record({ stage: 'deploy', step, outcome: 'passed', detail: { reason } }, cut?.requestedBy.id ?? STEWARD);
  return null;
}

async function notifyParentSuperseded(ctx: LifecycleContext, link: Lineage): Promise<void> {
  try {
    await getExternalWorkflowHandle(link.parentWorkflowId).signal(supersededSignal, { successorWorkflowId: ctx.workflowId, successorVersion: ctx.input.manifest.version });
  } catch (err) {
    // The parent may have been retired already; its deployment row was closed by deployVersion anyway.
    log.warn('could not notify the parent lifecycle', { parent: link.parentWorkflowId, error: String(err) });
  }
}
