import { allHandlersFinished, condition, setHandler } from '@temporalio/workflow';
import type { LifecycleCheckpoint, LifecycleResult, RetireRequest, Stop, SupersededNotice } from '../../../core/lifecycle.js';
import { retireSignal, supersededSignal } from '../../messages.js';
import type { LifecycleContext } from '../context.js';
import { endDeployment } from './deploy.js';

/** A retire request (acted on in every stage) and a successor's notice that it took this version's place. */
export interface RetireSlice {
  pending: RetireRequest | null;
  superseded: SupersededNotice | null;
}

export function retireSlice(resume: LifecycleCheckpoint | undefined): RetireSlice {
  return { pending: resume?.pendingRetire ?? null, superseded: resume?.superseded ?? null };
}

export function handle(ctx: LifecycleContext): void {
  const slice = ctx.state.retire;
  setHandler(retireSignal, (request) => {
    slice.pending ??= request;
  });
  setHandler(supersededSignal, (notice) => {
    slice.superseded ??= notice;
  });
}

export function retiredBy(request: RetireRequest): Stop {
  return { endedBy: 'retired', reason: request.reason, actor: request.requestedBy.id };
}

/**
 * Retire: ends the live deployment and unloads the version from its runtime, records why, and returns once
 * every message handler has finished.
 */
export async function run(ctx: LifecycleContext, { endedBy, reason, actor }: Stop): Promise<LifecycleResult> {
  ctx.enter('retire');
  const { deployment } = ctx.state.deploy;
  const unloadProblem = deployment ? await endDeployment(ctx, { deploymentId: deployment.deploymentId, at: ctx.now(), reason }) : null;
  await ctx.record({ stage: 'retire', outcome: 'completed', detail: { endedBy, reason, ...(unloadProblem ? { unloadProblem } : {}) } }, actor);
  await condition(allHandlersFinished);
  return { modelVersionId: ctx.versionId, endedBy, reason };
}
