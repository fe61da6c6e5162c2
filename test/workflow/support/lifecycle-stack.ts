import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { inject } from 'vitest';
import { manifestSchema, type ManifestInput, type ModelManifest } from '../../../core/manifest.js';
import { lifecycleWorkflowId, modelVersionId } from '../../../core/model-id.js';
import { defaultApprovalPolicy, type ApprovalPolicy, type LifecyclePolicy } from '../../../core/policy.js';
import type { Principal } from '../../../core/principal.js';
import { lifecycleSearchAttributes } from '../../../core/search-attributes.js';
import { approvalSignal, retireSignal, statusQuery, type ApprovalAttempt, type LifecycleStatus } from '../../../workflows/messages.js';
import { startTimeSkipping, type TimeSkippingStack } from '../../harness/time-skipping.js';
import { FakeActivities } from './fake-activities.js';
import './provided-context.js';

/**
 * The lifecycle as a test drives it: started by name (`modelLifecycle`) like the API starts it, moved by its
 * signals, read through its status query and the activity doubles' records. Nothing here knows how the
 * workflow is written inside.
 */

/** The start input, as the API builds it (the workflow's public contract). */
export interface StartInput {
  readonly manifest: ModelManifest;
  readonly registeredBy: Principal;
  readonly authors?: readonly Principal[];
  readonly template?: string;
  readonly policy?: LifecyclePolicy;
}

export interface LifecycleResult {
  readonly modelVersionId: string;
  readonly endedBy: string;
  readonly reason: string;
}

export type Lifecycle = WorkflowHandle & { readonly modelVersionId: string };

export const people = {
  /** Registers models; on the owning team. */
  erin: { id: 'erin', roles: ['engineer'], teams: ['credit-risk'] },
  ana: { id: 'ana', roles: ['approver:risk'], teams: ['model-risk'] },
  bo: { id: 'bo', roles: ['approver:risk'], teams: ['model-risk'] },
  /** A risk approver on the model's owning team. */
  cy: { id: 'cy', roles: ['approver:risk'], teams: ['credit-risk'] },
  dee: { id: 'dee', roles: ['approver:cro'], teams: ['executive'] },
  biz: { id: 'biz', roles: ['approver:business'], teams: ['lending'] },
  /** Approves for both risk and compliance. */
  kim: { id: 'kim', roles: ['approver:risk', 'approver:compliance'], teams: ['model-risk'] },
  lou: { id: 'lou', roles: ['approver:compliance'], teams: ['compliance'] },
  auditor: { id: 'aud', roles: ['auditor'] },
} satisfies Record<string, Principal>;

let counter = 0;

/** A valid manifest with a name no other test uses; every field can be overridden. */
export function manifest(overrides: Partial<ManifestInput> = {}): ModelManifest {
  const name = `${overrides.name ?? 'credit-score'}-${randomBytes(3).toString('hex')}${(counter++).toString(36)}`;
  return manifestSchema.parse({
    version: '1.0.0',
    owner: 'erin',
    team: 'credit-risk',
    kind: 'ml',
    framework: 'onnx',
    riskTier: 'medium',
    artifacts: [{ uri: 'file:///models/credit/model.onnx', sha256: 'a'.repeat(64), name: 'model' }],
    inputSchema: [
      { name: 'income', type: 'number' },
      { name: 'debt_to_income', type: 'number' },
      { name: 'age_band', type: 'category', categories: ['18-25', '26-40', '41-65', '65+'] },
    ],
    outputSchema: [{ name: 'default_probability', type: 'number' }],
    referenceDataset: { uri: 's3://lake/credit/reference-2025q4.parquet' },
    metrics: { auc: 0.91, disparateImpactRatio: 0.9, equalOpportunityDifference: 0.02 },
    protectedAttributes: ['age_band'],
    ...overrides,
    name,
  });
}

let attempts = 0;
/** An approval request as the API sends it (the principal is the authenticated caller). */
export function decision(principal: Principal, choice: 'approve' | 'reject' = 'approve', comment = 'evidence reviewed') {
  return { attemptId: `attempt-${(attempts++).toString(36)}-${randomBytes(3).toString('hex')}`, decision: choice, principal, comment };
}

/** A bare policy (what development runs and pre-template histories carry) with the approval gate given. */
export function policyWith(approval: Partial<ApprovalPolicy>): LifecyclePolicy {
  return {
    test: { minMetrics: { auc: 0.7 } },
    scan: { blockAt: 'high' },
    approval: { ...defaultApprovalPolicy, ...approval },
    monitor: { intervalMs: 60 * 60_000, cyclesPerRun: 100 },
    retrain: { versionBump: 'minor' },
  };
}

export const DAY = 24 * 60 * 60_000;

export interface LifecycleStack {
  readonly fakes: FakeActivities;
  readonly stack: TimeSkippingStack;
  /** Starts a lifecycle on the stack's task queue, registered by erin unless the input says otherwise. */
  start(input: Partial<StartInput> & { manifest: ModelManifest }): Promise<Lifecycle>;
  handle(workflowId: string): Lifecycle;
  /** Waits until the lifecycle has no workflow task in flight, so a message does not race a continue-as-new. */
  settled(lifecycle: Lifecycle): Promise<void>;
  status(lifecycle: Lifecycle): Promise<LifecycleStatus>;
  /** Sends an approval attempt and waits for the lifecycle to record its verdict. */
  attempt(lifecycle: Lifecycle, request: ReturnType<typeof decision>): Promise<ApprovalAttempt>;
  /** Skips server time; every timer due in it fires in order. */
  skip(duration: string | number): Promise<void>;
  /** Awaits the lifecycle's result, skipping time until it ends. */
  result(lifecycle: Lifecycle): Promise<LifecycleResult>;
  /** Asks the lifecycle to retire and waits for it to end. */
  retire(lifecycle: Lifecycle, by?: Principal, reason?: string): Promise<LifecycleResult>;
  /** Retires whatever lifecycles a test left running, so the next test's skipped time is its own. */
  retireLeftovers(): Promise<void>;
  stop(): Promise<void>;
}

/** `computeActivities`: more doubles for the compute queue (a test file's own, e.g. training runners). */
export async function startLifecycleStack(options: { computeActivities?: object } = {}): Promise<LifecycleStack> {
  const fakes = new FakeActivities();
  const stack = await startTimeSkipping({
    serverPath: inject('testServerPath'),
    workflowBundlePath: inject('lifecycleBundlePath'),
    activities: fakes.lifecycle(),
    computeActivities: { ...fakes.compute(), ...options.computeActivities },
  });
  const { env, taskQueue } = stack;
  const handle = (workflowId: string): Lifecycle => {
    const versionOf = workflowId.replace(/^model-version:/, '');
    return Object.assign(env.client.workflow.getHandle(workflowId), { modelVersionId: versionOf });
  };
  const running = async (workflowId: string) => (await env.client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  const result = (lifecycle: Lifecycle) => lifecycle.result() as Promise<LifecycleResult>;
  const lifecycleIds = () => [...new Set(fakes.calls.map((c) => c.workflowId))];
  /**
   * A retired lifecycle's result, collected without skipping time: once `retire:completed` is recorded it needs
   * no timer to finish, and skipping while it (or another lifecycle) still has a workflow task or activity in
   * flight races the test server's bookkeeping: it skipped to the lifecycle's execution timeout ("Workflow
   * execution timed out") when a retrain's successor was retired right after notifying its parent (CI, under
   * load; timer cancellations race the same way, temporalio/sdk-java#2606).
   */
  const ended = (lifecycle: Lifecycle) => stack.wallClock.getHandle(lifecycle.workflowId).result() as Promise<LifecycleResult>;
  const { EventType } = temporal.api.enums.v1;
  const WORKFLOW_TASK_EVENTS = new Set<number>([
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
  ]);
  /** The latest run is closed, or its last workflow task completed and none is scheduled since. */
  const quiet = async (workflowId: string) => {
    if (!(await running(workflowId))) return true;
    const events = (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const last = [...events].reverse().find((e) => WORKFLOW_TASK_EVENTS.has(Number(e.eventType)));
    return Number(last?.eventType) === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED;
  };
  /**
   * Waits (up to 10 s) until the lifecycle's latest run has no workflow task scheduled or running, twice in a
   * row. The test server races a message against a continue-as-new: a query or signal that reaches a run as it
   * continues is lost, the query never answers and the server's clock stays locked (a lifecycle whose deploy
   * phases used up its run budget continues right after `monitor:passed`). Messages from the helpers below wait
   * for this first; a run waiting on a timer, a signal or a held activity is settled.
   */
  const settled = async (lifecycle: Lifecycle) => {
    const deadline = Date.now() + 10_000;
    let quietPolls = 0;
    while (quietPolls < 2 && Date.now() < deadline) {
      quietPolls = (await quiet(lifecycle.workflowId)) ? quietPolls + 1 : 0;
      await sleep(100);
    }
  };
  /** Asks the lifecycle to retire and waits for it to record it. */
  const retireRecorded = async (lifecycle: Lifecycle, by: Principal, reason: string) => {
    const retired = fakes.transition(lifecycle.workflowId, 'retire:completed');
    retired.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
    await settled(lifecycle);
    await lifecycle.signal(retireSignal, { requestedBy: by, reason });
    await retired;
  };
  /** The retirement is awaited on the recorded transition, and only then is the result collected. */
  const retireAndWait = async (lifecycle: Lifecycle, by: Principal, reason: string) => {
    await retireRecorded(lifecycle, by, reason);
    return ended(lifecycle);
  };

  return {
    fakes,
    stack,
    async start(input) {
      const workflowId = lifecycleWorkflowId(input.manifest);
      // Pinned as the API pins it: `standard` runs `standard@1`.
      const pinned = input.manifest.template.includes('@') ? input.manifest.template : `${input.manifest.template}@1`;
      const full = { registeredBy: people.erin, ...(input.policy ? {} : { template: pinned }), ...input };
      await env.client.workflow.start('modelLifecycle', {
        taskQueue,
        workflowId,
        args: [full],
        typedSearchAttributes: lifecycleSearchAttributes(input.manifest, 'register'),
        memo: { registeredBy: full.registeredBy.id, template: full.template ?? 'inline' },
      });
      return Object.assign(env.client.workflow.getHandle(workflowId), { modelVersionId: modelVersionId(input.manifest) });
    },
    handle,
    async attempt(lifecycle, request) {
      const recorded = fakes.waitFor(`the verdict on ${request.principal.id}'s ${request.decision}`, (c) => {
        const attempt = c.input.attempt as ApprovalAttempt | undefined;
        return c.activity === 'recordApprovalAttempt' && c.workflowId === lifecycle.workflowId && attempt?.request.attemptId === request.attemptId;
      });
      recorded.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
      await lifecycle.signal(approvalSignal, request);
      return (await recorded).input.attempt as ApprovalAttempt;
    },
    settled,
    status: async (lifecycle) => (await settled(lifecycle), lifecycle.query(statusQuery)),
    skip: (duration) => env.sleep(duration),
    result,
    retire: (lifecycle, by = people.erin, reason = 'test over') => retireAndWait(lifecycle, by, reason),
    /** Every lifecycle still running is retired, and only once all have recorded it are their results collected (`ended`). */
    async retireLeftovers() {
      const leftovers: Lifecycle[] = [];
      for (const id of lifecycleIds()) {
        if (!(await running(id))) continue;
        await fakes.idle(id);
        const lifecycle = handle(id);
        await retireRecorded(lifecycle, people.erin, 'test over');
        leftovers.push(lifecycle);
      }
      await Promise.all(leftovers.map(ended));
    },
    stop: () => stack.stop(),
  };
}

export { approvalSignal };
