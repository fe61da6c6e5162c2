import { allHandlersFinished, condition, patched, setHandler } from '@temporalio/workflow';
import type { LifecycleCheckpoint, LifecycleResult, RetireRequest, RetiredLineage, Stop, SupersededNotice } from '../../../core/lifecycle.js';
import { retireSignal, supersededSignal } from '../../messages.js';
import type { LifecycleContext } from '../context.js';
import { drainAndUnload, endDeployment } from './deploy.js';

/** Lifecycles that drain before unloading (recorded ones ended the row and unloaded in one activity). */
const DRAIN_PATCH = 'steward:retire-drains';

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

/** The version's place in its lineage as it leaves: where it came from, what it carried, what replaced it. */
export function lineageSummary(ctx: LifecycleContext): RetiredLineage {
  const { manifest, lineage } = ctx.input;
  const { deployment } = ctx.state.deploy;
  return {
    parent: lineage?.parentModelVersionId ?? null,
    trigger: lineage?.trigger?.kind ?? (lineage ? 'manual' : null),
    artifacts: manifest.artifacts.map((a) => a.sha256),
    trainingData: manifest.trainingData.map((d) => d.uri),
    deployedSince: deployment?.since ?? null,
    successor: ctx.state.retrain.successor?.workflowId ?? ctx.state.retire.superseded?.successorWorkflowId ?? null,
  };
}

export function retiredBy(request: RetireRequest): Stop {
  return { endedBy: 'retired', reason: request.reason, actor: request.requestedBy.id };
}

/**
 * Retire: ends the live deployment, drains it and unloads the version from its runtime, records why, and
 * returns once every message handler has finished.
 */
export async function run(ctx: LifecycleContext, { endedBy, reason, actor }: Stop): Promise<LifecycleResult> {
  ctx.enter('retire');
  const { deployment } = ctx.state.deploy;
  const end = { deploymentId: deployment?.deploymentId ?? '', at: ctx.now(), reason };
  // Ending the row first stops routing to the version; only then is it unloaded from its runtime.
  const unloadProblem = !deployment ? null : patched(DRAIN_PATCH) ? await drainAndUnload(ctx, end) : await endDeployment(ctx, end);
  await ctx.record({ stage: 'retire', outcome: 'completed', detail: { endedBy, reason, ...(unloadProblem ? { unloadProblem } : {}), lineage: lineageSummary(ctx) } }, actor);
  await condition(allHandlersFinished);
  return { modelVersionId: ctx.versionId, endedBy, reason };
}
