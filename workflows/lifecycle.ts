import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { LifecycleActivities } from '../activities/index.js';
import type { Deployment } from '../activities/deployment.js';
import type { ModelManifest } from '../core/manifest.js';
import { bumpVersion, lifecycleWorkflowId, modelVersionId } from '../core/model-id.js';
import { severityAtLeast, withPolicyDefaults, type LifecyclePolicy } from '../core/policy.js';
import type { Principal } from '../core/principal.js';
import { lifecycleSearchAttributes, SA_STAGE } from '../core/search-attributes.js';
import type { ReportRef } from '../core/reports.js';
import type { Stage, StageOutcome } from '../core/stages.js';
import { gateTimers, judgeAttempt, openGate, type GateState } from './approval-gate.js';
import {
  approvalSignal,
  retireSignal,
  retrainSignal,
  statusQuery,
  supersededSignal,
  type ApprovalAttempt,
  type LifecycleStatus,
  type RetireRequest,
  type RetrainRequest,
  type SupersededNotice,
} from './messages.js';

const STEWARD = 'steward';
/** The status query keeps the latest attempts; every attempt is in history and the catalog regardless. */
const APPROVALS_KEPT_IN_STATE = 50;

const { registerVersion, recordStage, recordApprovalAttempt, publishEvent, evaluateModel, scanArtifacts, deployVersion, probeDeployment, endDeployment } =
  proxyActivities<LifecycleActivities>({
    // Short: these are quick writes and checks, and an attempt lost with a crashed worker is retried only
    // after this timeout.
    startToCloseTimeout: '15 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
  });

/** A retrained version's link to the version it was retrained from. */
export interface Lineage {
  readonly parentWorkflowId: string;
  readonly parentModelVersionId: string;
  readonly reason: string;
}

/** Where a run of the monitor loop hands over to the next one at continue-as-new. */
export interface MonitorCheckpoint {
  readonly seq: number;
  readonly approvalSeq: number;
  readonly run: number;
  readonly stage: Extract<Stage, 'monitor' | 'retrain'>;
  readonly monitorCycles: number;
  readonly deployment: Deployment;
  readonly approvals: readonly ApprovalAttempt[];
  readonly successor: { readonly workflowId: string; readonly version: string } | null;
  readonly pendingRetrain: RetrainRequest | null;
  readonly pendingRetire: RetireRequest | null;
  readonly superseded: SupersededNotice | null;
}

export interface LifecycleInput {
  readonly manifest: ModelManifest;
  readonly registeredBy: Principal;
  readonly policy: LifecyclePolicy;
  readonly lineage?: Lineage;
  /** Set only by continue-as-new. */
  readonly resume?: MonitorCheckpoint;
}

export type EndedBy = 'failed-test' | 'failed-scan' | 'rejected' | 'expired' | 'superseded' | 'retired';

export interface LifecycleResult {
  readonly modelVersionId: string;
  readonly endedBy: EndedBy;
  readonly reason: string;
}

/**
 * The life of one model version: register → test → security scan → approval → deploy → monitor loop →
 * retrain → retire. Every stage records its outcome through `recordStage`, so the history alone tells
 * what happened, when, and on whose word.
 */
export async function modelLifecycle(input: LifecycleInput): Promise<LifecycleResult> {
  const { manifest, registeredBy, lineage, resume } = input;
  const policy = withPolicyDefaults(input.policy);
  const workflowId = workflowInfo().workflowId;
  const versionId = modelVersionId(manifest);

  // ---- state (carried across continue-as-new through MonitorCheckpoint) ----
  let seq = resume?.seq ?? 0;
  let approvalSeq = resume?.approvalSeq ?? 0;
  let stage: Stage = resume?.stage ?? 'register';
  let monitorCycles = resume?.monitorCycles ?? 0;
  let deployment: Deployment | null = resume?.deployment ?? null;
  let approvals: ApprovalAttempt[] = [...(resume?.approvals ?? [])];
  let successor = resume?.successor ?? null;
  let pendingRetrain = resume?.pendingRetrain ?? null;
  let pendingRetire = resume?.pendingRetire ?? null;
  let superseded = resume?.superseded ?? null;
  /** The approval gate: null until the lifecycle reaches it; closed once decided or expired. */
  let gate: GateState | null = null;
  let decision: ApprovalAttempt | null = null;
  let gateDeadline: string | null = null;
  const seenAttemptIds = new Set<string>();
  /** The catalog row every projection references; attempts that arrive earlier wait for it. */
  let registered = resume !== undefined;
  const run = resume ? resume.run + 1 : 1;

  const now = () => new Date().toISOString();

  function enter(next: Stage): void {
    stage = next;
    upsertSearchAttributes([{ key: SA_STAGE, value: next }]);
  }

  async function record(outcome: StageOutcome, actor: string, detail: Record<string, unknown>, report?: ReportRef): Promise<void> {
    seq += 1;
    await recordStage({ workflowId, modelVersionId: versionId, seq, stage, outcome, at: now(), actor, detail, ...(report ? { report } : {}) });
  }

  // ---- messages ----
  const gateContext = { policy: policy.approval, registeredBy, owningTeam: manifest.team };

  setHandler(approvalSignal, async (request) => {
    // A retried request (same attempt id) is the same attempt: judged and recorded once.
    if (seenAttemptIds.has(request.attemptId) || approvals.some((a) => a.request.attemptId === request.attemptId)) return;
    seenAttemptIds.add(request.attemptId);
    const judged = judgeAttempt(gate, request, gateContext);
    gate = judged.gate;
    const attempt: ApprovalAttempt = { request, at: now(), stage, verdict: judged.verdict };
    approvalSeq += 1;
    approvals = [...approvals, attempt].slice(-APPROVALS_KEPT_IN_STATE);
    if (attempt.verdict.status === 'accepted') decision = attempt;
    // Awaiting only when needed keeps the command order of recorded histories (replay safety).
    if (!registered) await condition(() => registered);
    await recordApprovalAttempt({ workflowId, modelVersionId: versionId, seq: approvalSeq, attempt });
  });
  setHandler(retrainSignal, (request) => {
    if (stage !== 'monitor' || pendingRetrain) {
      log.warn('retrain request ignored', { stage, requestedBy: request.requestedBy.id });
      return;
    }
    pendingRetrain = request;
  });
  setHandler(retireSignal, (request) => {
    pendingRetire ??= request;
  });
  setHandler(supersededSignal, (notice) => {
    superseded ??= notice;
  });
  setHandler(statusQuery, (): LifecycleStatus => ({
    modelVersionId: versionId,
    stage,
    run,
    monitorCycles,
    approvals,
    deployment,
    successor,
    parentWorkflowId: lineage?.parentWorkflowId ?? null,
    gate:
      gate?.open === true
        ? { eligibleGroups: gate.eligibleGroups, approvals: gate.counted.map((c) => c.principal), quorum: policy.approval.quorum, deadline: gateDeadline }
        : null,
  }));

  // ---- stages ----
  async function register(): Promise<void> {
    enter('register');
    await registerVersion({
      workflowId,
      modelVersionId: versionId,
      manifest,
      registeredBy,
      lineage: lineage ? { parentModelVersionId: lineage.parentModelVersionId, reason: lineage.reason } : null,
      at: now(),
    });
    registered = true;
    await record('passed', registeredBy.id, {
      owner: manifest.owner,
      riskTier: manifest.riskTier,
      artifacts: manifest.artifacts.length,
      parent: lineage?.parentModelVersionId ?? null,
    });
  }

  async function testGate(): Promise<boolean> {
    enter('test');
    const result = await evaluateModel({ modelVersionId: versionId, metrics: manifest.metrics, minMetrics: policy.test.minMetrics });
    await record(result.passed ? 'passed' : 'failed', STEWARD, { minMetrics: policy.test.minMetrics }, result.report);
    return result.passed;
  }

  async function scanGate(): Promise<boolean> {
    enter('scan');
    const result = await scanArtifacts({ modelVersionId: versionId, artifacts: manifest.artifacts });
    const passed = !severityAtLeast(result.maxSeverity, policy.scan.blockAt);
    await record(passed ? 'passed' : 'failed', STEWARD, { maxSeverity: result.maxSeverity, blockAt: policy.scan.blockAt }, result.report);
    return passed;
  }

  /**
   * Waits for the approvers: a quorum of distinct eligible approvers passes the gate, one rejection ends it.
   * With a deadline, durable timers remind the approvers, notify the escalation group, and at the timeout
   * reject or hand the gate to another group. Resolves with the deciding attempt, or null if it expired.
   */
  async function approvalGate(): Promise<ApprovalAttempt | null> {
    enter('approval');
    gate = openGate(policy.approval);
    const opened = Date.now();
    const { deadline } = policy.approval;
    if (deadline) gateDeadline = new Date(opened + deadline.timeoutMs).toISOString();
    // Waiting on people: recorded on entry too, so the catalog (and the inbox built on it) shows who waits.
    await record('entered', STEWARD, {
      groups: policy.approval.groups,
      quorum: policy.approval.quorum,
      requireEveryGroup: policy.approval.requireEveryGroup,
      excludeOwningTeam: policy.approval.excludeOwningTeam,
      deadline: gateDeadline,
    });

    let expiresAt = deadline ? opened + deadline.timeoutMs : null;
    let escalated = false;
    for (const timer of gateTimers(policy.approval)) {
      const at = timer.kind === 'timeout' ? expiresAt! : opened + timer.atMs;
      if (await condition(() => !gate!.open, Math.max(at - Date.now(), 0))) break;
      if (timer.kind === 'reminder') {
        await notify(`reminder-${timer.index}`, 'approval.reminder', { groups: gate.eligibleGroups, approvals: gate.counted.length, deadline: gateDeadline });
      } else if (timer.kind === 'escalation-notice') {
        await notify('escalation-notice', 'approval.escalation', { group: timer.group, approvals: gate.counted.length, deadline: gateDeadline });
      } else if (deadline!.onTimeout.action === 'escalate' && !escalated) {
        // Hand the gate to the escalation group for a last stretch; approvals already counted still count.
        escalated = true;
        expiresAt = Date.now() + deadline!.onTimeout.extraMs;
        gateDeadline = new Date(expiresAt).toISOString();
        gate = { ...gate, eligibleGroups: [deadline!.onTimeout.group] };
        await record('escalated', STEWARD, { groups: gate.eligibleGroups, quorum: policy.approval.quorum, deadline: gateDeadline });
        if (await condition(() => !gate!.open, Math.max(expiresAt - Date.now(), 0))) break;
        gate = { ...gate, open: false, expired: true };
      } else {
        gate = { ...gate, open: false, expired: true };
      }
    }
    await condition(() => !gate!.open);

    if (!decision) {
      await record('expired', STEWARD, { deadline: gateDeadline, approvals: gate.counted.map((c) => c.principal) });
      return null;
    }
    const accepted: ApprovalAttempt = decision;
    const approved = accepted.request.decision === 'approve';
    await record(approved ? 'passed' : 'rejected', accepted.request.principal.id, {
      decision: accepted.request.decision,
      comment: accepted.request.comment,
      roles: accepted.request.principal.roles,
      approvers: approved ? gate.counted.map((c) => c.principal) : [],
    });
    return accepted;
  }

  async function notify(key: string, type: string, data: Record<string, unknown>): Promise<void> {
    await publishEvent({ id: `${workflowId}/${key}`, type, modelVersionId: versionId, workflowId, at: now(), data });
  }

  async function deploy(): Promise<void> {
    enter('deploy');
    deployment = await deployVersion({
      deploymentId: `${workflowId}/deploy`,
      modelName: manifest.name,
      modelVersionId: versionId,
      target: manifest.deploymentTarget,
      at: now(),
    });
    await record('passed', STEWARD, { ...deployment, strategy: 'replace' });
    if (lineage) await notifyParentSuperseded(lineage);
  }

  async function notifyParentSuperseded(link: Lineage): Promise<void> {
    try {
      await getExternalWorkflowHandle(link.parentWorkflowId).signal(supersededSignal, {
        successorWorkflowId: workflowId,
        successorVersion: manifest.version,
      });
    } catch (err) {
      // The parent may have been retired already; its deployment row was closed by deployVersion anyway.
      log.warn('could not notify the parent lifecycle', { parent: link.parentWorkflowId, error: String(err) });
    }
  }

  async function retrain(request: RetrainRequest): Promise<void> {
    enter('retrain');
    const version = bumpVersion(manifest.version, policy.retrain.versionBump);
    const childManifest: ModelManifest = {
      ...manifest,
      version,
      artifacts: request.artifacts ? [...request.artifacts] : manifest.artifacts,
      metrics: request.metrics ? { ...request.metrics } : manifest.metrics,
    };
    const childWorkflowId = lifecycleWorkflowId(childManifest);
    try {
      await startChild(modelLifecycle, {
        workflowId: childWorkflowId,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: lifecycleSearchAttributes(childManifest, 'register'),
        args: [
          {
            manifest: childManifest,
            registeredBy: request.requestedBy,
            policy,
            lineage: { parentWorkflowId: workflowId, parentModelVersionId: versionId, reason: request.reason },
          },
        ],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      await record('failed', request.requestedBy.id, { reason: request.reason, problem: `${childWorkflowId} already exists` });
      enter('monitor');
      return;
    }
    successor = { workflowId: childWorkflowId, version };
    await record('passed', request.requestedBy.id, { reason: request.reason, successor: childWorkflowId });
  }

  async function retire(endedBy: EndedBy, reason: string, actor: string): Promise<LifecycleResult> {
    enter('retire');
    if (deployment) await endDeployment({ deploymentId: deployment.deploymentId, at: now(), reason });
    await record('completed', actor, { endedBy, reason });
    await condition(allHandlersFinished);
    return { modelVersionId: versionId, endedBy, reason };
  }

  /** Watches the live deployment until the version is superseded or retired; continues-as-new to stay small. */
  async function monitor(): Promise<LifecycleResult> {
    if (!resume) {
      enter('monitor');
      await record('passed', STEWARD, { intervalMs: policy.monitor.intervalMs, deployment });
    }
    let cyclesThisRun = 0;
    for (;;) {
      if (superseded) return retire('superseded', `replaced by ${superseded.successorWorkflowId}`, STEWARD);
      if (pendingRetire) return retire('retired', pendingRetire.reason, pendingRetire.requestedBy.id);
      if (pendingRetrain) {
        await retrain(pendingRetrain);
        pendingRetrain = null;
        continue;
      }
      if (cyclesThisRun >= policy.monitor.cyclesPerRun || workflowInfo().continueAsNewSuggested) {
        await condition(allHandlersFinished);
        return continueAsNew<typeof modelLifecycle>({ ...input, resume: checkpoint() });
      }
      const interrupted = await condition(
        () => superseded !== null || pendingRetire !== null || pendingRetrain !== null,
        policy.monitor.intervalMs,
      );
      if (interrupted) continue;
      cyclesThisRun += 1;
      monitorCycles += 1;
      const probe = await probeDeployment({ deploymentId: deployment!.deploymentId });
      if (probe.ended && !superseded) return retire('superseded', probe.endReason ?? 'deployment ended', STEWARD);
    }
  }

  function checkpoint(): MonitorCheckpoint {
    return {
      seq,
      approvalSeq,
      run,
      stage: stage === 'retrain' ? 'retrain' : 'monitor',
      monitorCycles,
      deployment: deployment!,
      approvals,
      successor,
      pendingRetrain,
      pendingRetire,
      superseded,
    };
  }

  // ---- the lifecycle ----
  if (resume) return monitor();

  await register();
  if (!(await testGate())) return retire('failed-test', 'metrics below the policy minimum', STEWARD);
  if (!(await scanGate())) return retire('failed-scan', 'security findings at or above the blocking severity', STEWARD);
  const approval = await approvalGate();
  if (!approval) return retire('expired', 'no decision before the approval deadline', STEWARD);
  if (approval.request.decision === 'reject') {
    return retire('rejected', approval.request.comment || 'rejected by approver', approval.request.principal.id);
  }
  await deploy();
  return monitor();
}
