import { CancellationScope, condition, log, patched, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ComputeActivities, LifecycleActivities } from '../../activities/index.js';
import { dutiesOf, type GateContext } from '../../core/approval.js';
import { driftUnwatchedReason } from '../../core/drift.js';
import type { TransitionEvidence } from '../../core/evidence.js';
import type { LifecycleInput } from '../../core/lifecycle.js';
import { modelVersionId } from '../../core/model-id.js';
import type { Principal } from '../../core/principal.js';
import type { ReportRef } from '../../core/reports.js';
import { SA_STAGE } from '../../core/search-attributes.js';
import type { Stage } from '../../core/stages.js';
import { computeTaskQueue } from '../../core/task-queues.js';
import type { LifecyclePlan } from '../dsl/plan.js';
import { planFromPolicy } from '../dsl/policy-plan.js';
import type { TemplateRegistry } from '../dsl/registry.js';
import { activities } from './proxies.js';
import { LifecycleState } from './state.js';

/** What every stage works with: who the lifecycle is, its plan, its state, and how it records. */
export interface LifecycleContext {
  readonly input: LifecycleInput;
  readonly registry: TemplateRegistry;
  readonly plan: LifecyclePlan;
  readonly workflowId: string;
  readonly versionId: string;
  /** Who may never approve this version. */
  readonly duties: Omit<GateContext, 'policy'>;
  /** Retire acts in every stage, and refused requests are recorded as such (histories recorded since). */
  readonly requestsAnswered: boolean;
  readonly driftUnwatchedBecause: string | null;
  readonly state: LifecycleState;
  readonly detectDrift: ComputeActivities['detectDrift'];
  now(): string;
  enter(next: Stage): void;
  /** Records one transition under the evidence's own stage (steps side by side each name theirs). */
  record(evidence: TransitionEvidence, actor: string, of?: { readonly report?: ReportRef }): Promise<void>;
  /** Records a request the lifecycle cannot act on in its stage (the signal itself is in history too). */
  refuse(request: 'retrain' | 'promote' | 'rollback', by: Principal, reason: string, problem: string): Promise<void>;
  notify(key: string, type: string, data: Record<string, unknown>): Promise<void>;
}

export function createContext(input: LifecycleInput, registry: TemplateRegistry): LifecycleContext {
  const { manifest } = input;
  // The order of these calls is the order of the patch markers in recorded histories.
  const plan = input.template !== undefined ? registry.plan(input.template, manifest, { patched }) : planFromPolicy(input.policy);
  const workflowId = workflowInfo().workflowId;
  const versionId = modelVersionId(manifest);
  const duties = dutiesOf(input, { authenticatedTeams: patched('steward:sod-authenticated-teams') });
  const requestsAnswered = patched('steward:requests-answered');
  // Drift compares whole datasets on the compute workers: minutes, not seconds; a data problem is final.
  const { detectDrift } = proxyActivities<ComputeActivities>({
    taskQueue: computeTaskQueue(workflowInfo().taskQueue),
    startToCloseTimeout: '30 minutes',
    // Heartbeats go out while bytes stream, not while the statistics run afterwards.
    heartbeatTimeout: '5 minutes',
    retry: { initialInterval: '5 seconds', maximumAttempts: 3, nonRetryableErrorTypes: ['DatasetProblem', 'UriNotAllowed', 'ArtifactTooLarge'] },
  });
  const state = LifecycleState.fromCheckpoint(input.resume);
  const now = () => new Date().toISOString();

  const ctx: LifecycleContext = {
    input,
    registry,
    plan,
    workflowId,
    versionId,
    duties,
    requestsAnswered,
    driftUnwatchedBecause: driftUnwatchedReason(manifest, plan.monitor.drift, plan.template),
    state,
    detectDrift,
    now,
    enter(next) {
      state.stage = next;
      upsertSearchAttributes([{ key: SA_STAGE, value: next }]);
    },
    async record(evidence, actor, of = {}) {
      const { report } = of;
      const { stage, step, outcome, detail } = evidence;
      state.seq += 1;
      const seq = state.seq;
      // Never cut short by a retire that cancels the step around it: the record is the audit trail.
      await CancellationScope.nonCancellable(() =>
        activities.recordStage({
          workflowId,
          modelVersionId: versionId,
          seq,
          stage,
          ...(step ? { step } : {}),
          outcome,
          at: now(),
          actor,
          detail,
          ...(report ? { report } : {}),
        } as Parameters<LifecycleActivities['recordStage']>[0]),
      );
    },
    async refuse(request, by, reason, problem) {
      log.warn(`${request} request refused`, { stage: state.stage, requestedBy: by.id, problem });
      if (!requestsAnswered) return;
      if (!state.registered) await condition(() => state.registered);
      await ctx.record({ stage: state.stage, step: 'request', outcome: 'refused', detail: { request, reason, problem } }, by.id);
    },
    async notify(key, type, data) {
      await activities.publishEvent({ id: `${workflowId}/${key}`, type, modelVersionId: versionId, workflowId, at: now(), data });
    },
  };
  return ctx;
}
