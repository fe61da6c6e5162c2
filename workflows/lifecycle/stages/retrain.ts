import { ParentClosePolicy, setHandler, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { LifecycleCheckpoint, LifecycleInput, ModelLifecycle, RetrainRequest, Successor } from '../../../core/lifecycle.js';
import type { ModelManifest } from '../../../core/manifest.js';
import { bumpVersion, lifecycleWorkflowId } from '../../../core/model-id.js';
import { lifecycleSearchAttributes } from '../../../core/search-attributes.js';
import { retrainSignal } from '../../messages.js';
import type { LifecycleContext } from '../context.js';

/** A retrain waiting for the monitor loop to act on it, and the successor once one was started. */
export interface RetrainSlice {
  pending: RetrainRequest | null;
  successor: Successor | null;
}

export function retrainSlice(resume: LifecycleCheckpoint | undefined): RetrainSlice {
  return { pending: resume?.pendingRetrain ?? null, successor: resume?.successor ?? null };
}

export function handle(ctx: LifecycleContext): void {
  const { state } = ctx;
  setHandler(retrainSignal, async (request) => {
    const problem =
      request.refused ??
      (state.stage !== 'monitor'
        ? `only a version in the monitor stage can be retrained (stage ${state.stage})`
        : state.retrain.pending || (ctx.requestsAnswered && state.retrain.successor)
          ? 'a retrain is already under way'
          : null);
    if (problem) return ctx.refuse('retrain', request.requestedBy, request.reason, problem);
    state.retrain.pending = request;
  });
}

/**
 * Retrain: starts the next version as a child lifecycle (abandoned on close, so it outlives this one) with a
 * lineage link back here. The child supersedes this version once deployed.
 */
export async function run(ctx: LifecycleContext, request: RetrainRequest): Promise<void> {
  const { input, plan, workflowId, versionId } = ctx;
  const { manifest } = input;
  ctx.enter('retrain');
  const version = bumpVersion(manifest.version, plan.retrain.versionBump);
  const childManifest: ModelManifest = {
    ...manifest,
    version,
    artifacts: request.artifacts ? [...request.artifacts] : manifest.artifacts,
    metrics: request.metrics ? { ...request.metrics } : manifest.metrics,
  };
  const childWorkflowId = lifecycleWorkflowId(childManifest);
  // Whoever registered an ancestor whose artifacts the child reuses authored it too, and may not approve it.
  const reusesArtifacts = childManifest.artifacts.some((a) => manifest.artifacts.some((b) => b.sha256 === a.sha256));
  const childInput: LifecycleInput = {
    manifest: childManifest,
    registeredBy: request.requestedBy,
    ...(reusesArtifacts ? { authors: [input.registeredBy, ...(input.authors ?? [])] } : {}),
    ...(input.template !== undefined ? { template: input.template } : { policy: input.policy }),
    lineage: { parentWorkflowId: workflowId, parentModelVersionId: versionId, reason: request.reason },
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
  await ctx.record({ stage: 'retrain', outcome: 'passed', detail: { reason: request.reason, successor: childWorkflowId } }, request.requestedBy.id);
}
