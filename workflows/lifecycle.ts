import {
  ActivityFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  isCancellation,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  makeContinueAsNewFunc,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { ComputeActivities, LifecycleActivities } from '../activities/index.js';
import type { Deployment } from '../activities/deployment.js';
import { driftColumns, driftUnwatchedReason } from '../core/drift.js';
import type { ModelManifest } from '../core/manifest.js';
import { bumpVersion, lifecycleWorkflowId, modelVersionId } from '../core/model-id.js';
import { defaultApprovalPolicy, severityAtLeast, type LifecyclePolicy } from '../core/policy.js';
import type { Principal } from '../core/principal.js';
import { lifecycleSearchAttributes, SA_STAGE } from '../core/search-attributes.js';
import { computeTaskQueue } from '../core/task-queues.js';
import type { ReportRef } from '../core/reports.js';
import type { Stage, StageOutcome } from '../core/stages.js';
import { dutiesOf, gateTimers, judgeAttempt, openGate, type GateState } from './approval-gate.js';
import type { ApprovalStep, AutomatedStep, DeployPhase, GateStep, LifecyclePlan, StepVerdict } from './dsl/plan.js';
import { planFromPolicy } from './dsl/policy-plan.js';
import type { TemplateRegistry } from './dsl/registry.js';
import { judgeWindow } from './monitor-judge.js';
import {
  approvalSignal,
  observationSignal,
  promoteSignal,
  retireSignal,
  retrainSignal,
  statusQuery,
  supersededSignal,
  type ApprovalAttempt,
  type DriftStatus,
  type LifecycleStatus,
  type Observation,
  type PromoteRequest,
  type RetireRequest,
  type RetrainRequest,
  type SupersededNotice,
} from './messages.js';

const STEWARD = 'steward';
/** How transitions name an observed window. */
const windowRef = (w: Observation) => ({ id: w.id, start: w.windowStart, end: w.windowEnd, reportedBy: w.reportedBy });
/** Who asks for a retrain the template starts on its own (on drift). */
const STEWARD_PRINCIPAL: Principal = { id: STEWARD, roles: [] };
/** The status query keeps the latest attempts; every attempt is in history and the catalog regardless. */
const APPROVALS_KEPT_IN_STATE = 50;

const { registerVersion, recordStage, recordApprovalAttempt, publishEvent, evaluateModel, deployVersion, probeDeployment, endDeployment } =
  proxyActivities<LifecycleActivities>({
    // Short: these are quick writes and checks, and an attempt lost with a crashed worker is retried only
    // after this timeout.
    startToCloseTimeout: '15 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
  });

/**
 * The scan streams artifacts of up to gigabytes: it may take minutes, heartbeats as bytes pass (so a dead
 * worker is noticed within the heartbeat timeout and a cancellation reaches the read), and gives up after a
 * few attempts. Refused and oversized artifacts are findings, not failures, so retries are for outages only.
 */
const { scanArtifacts } = proxyActivities<LifecycleActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', maximumInterval: '1 minute', maximumAttempts: 3, nonRetryableErrorTypes: ['UriNotAllowed', 'ArtifactTooLarge'] },
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
  /** Observed windows not yet judged; absent in checkpoints recorded before observations existed. */
  readonly pendingWindows?: readonly Observation[];
  /** The last drift verdict; absent in checkpoints recorded before drift was computed. */
  readonly lastDrift?: DriftStatus;
}

interface LifecycleInputBase {
  readonly manifest: ModelManifest;
  readonly registeredBy: Principal;
  /**
   * Besides the registrant, whoever authored what this version carries: a retrained version lists the
   * registrants of the ancestors whose artifacts it reuses. None of them may approve it.
   */
  readonly authors?: readonly Principal[];
  readonly lineage?: Lineage;
  /** Set only by continue-as-new. */
  readonly resume?: MonitorCheckpoint;
}

/**
 * A lifecycle runs one template version, named exactly (`high-risk@1`) so that replay uses the same logic.
 * A bare `policy` is what lifecycles recorded before templates carried, and what ad-hoc development runs use.
 */
export type LifecycleInput = LifecycleInputBase &
  ({ readonly template: string; readonly policy?: undefined } | { readonly policy: LifecyclePolicy; readonly template?: undefined });

export type EndedBy = 'failed-test' | 'failed-scan' | 'rejected' | 'expired' | 'rolled-back' | 'superseded' | 'retired' | 'end-of-life';

export interface LifecycleResult {
  readonly modelVersionId: string;
  readonly endedBy: EndedBy;
  readonly reason: string;
}

export type ModelLifecycle = (input: LifecycleInput) => Promise<LifecycleResult>;

/** A gate that did not pass: how the lifecycle ends and on whose word. */
interface Stop {
  readonly endedBy: EndedBy;
  readonly reason: string;
  readonly actor: string;
}

/**
 * Builds the lifecycle workflow over a template registry. The workflow bundle passes the released
 * templates; tests of template evolution pass registries of their own.
 */
export function defineLifecycle(registry: TemplateRegistry): ModelLifecycle {
  /**
   * The life of one model version: register → the template's gates (test, scan, approval, custom and
   * parallel stages) → deploy (through the template's shadow and canary phases) → monitor loop → retrain →
   * retire. Every stage records its outcome through `recordStage`, so the history alone tells what happened,
   * when, on whose word, and under which template version.
   */
  return async function modelLifecycle(input: LifecycleInput): Promise<LifecycleResult> {
    const { manifest, registeredBy, lineage, resume } = input;
    const plan: LifecyclePlan = input.template !== undefined ? registry.plan(input.template, manifest, { patched }) : planFromPolicy(input.policy);
    const workflowId = workflowInfo().workflowId;
    const versionId = modelVersionId(manifest);
    // Behaviour added after histories were recorded; those replay with the flags off.
    const duties = dutiesOf(input, { authenticatedTeams: patched('steward:sod-authenticated-teams') });
    /** Retire acts in every stage, and refused requests are recorded as such. */
    const requestsAnswered = patched('steward:requests-answered');
    // Drift compares whole datasets on the compute workers: minutes, not seconds; a data problem is final.
    const { detectDrift } = proxyActivities<ComputeActivities>({
      taskQueue: computeTaskQueue(workflowInfo().taskQueue),
      startToCloseTimeout: '30 minutes',
      // Heartbeats go out while bytes stream, not while the statistics run afterwards.
      heartbeatTimeout: '5 minutes',
      retry: { initialInterval: '5 seconds', maximumAttempts: 3, nonRetryableErrorTypes: ['DatasetProblem', 'UriNotAllowed', 'ArtifactTooLarge'] },
    });

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
    /** The approval gate under way: null until the lifecycle reaches one; closed once decided or expired. */
    let gate: GateState | null = null;
    let gateStep: ApprovalStep | null = null;
    let decision: ApprovalAttempt | null = null;
    let gateDeadline: string | null = null;
    const seenAttemptIds = new Set<string>();
    /** The deployment phase under way, and a request to cut it short. */
    let phase: LifecycleStatus['phase'] = null;
    let promotion: PromoteRequest | null = null;
    /** Observed windows waiting to be judged against the template's monitor policy. */
    const windows: Observation[] = [...(resume?.pendingWindows ?? [])];
    const seenWindowIds = new Set(windows.map((w) => w.id));
    const driftUnwatchedBecause = driftUnwatchedReason(manifest, plan.monitor.drift, plan.template);
    let lastDrift: DriftStatus | null = resume?.lastDrift ?? null;
    /** The catalog row every projection references; attempts that arrive earlier wait for it. */
    let registered = resume !== undefined;
    const run = resume ? resume.run + 1 : 1;

    const now = () => new Date().toISOString();

    function enter(next: Stage): void {
      stage = next;
      upsertSearchAttributes([{ key: SA_STAGE, value: next }]);
    }

    /**
     * Records a transition of the current stage, or of `of.stage` for steps that run side by side (each
     * records under its own stage, whatever the others entered meanwhile).
     */
    async function record(
      outcome: StageOutcome,
      actor: string,
      detail: Record<string, unknown>,
      of: { readonly report?: ReportRef; readonly step?: string; readonly stage?: Stage } = {},
    ): Promise<void> {
      const { report, step } = of;
      seq += 1;
      // Never cut short by a retire that cancels the step around it: the record is the audit trail.
      await CancellationScope.nonCancellable(() => recordStage({
        workflowId,
        modelVersionId: versionId,
        seq,
        stage: of.stage ?? stage,
        ...(step ? { step } : {}),
        outcome,
        at: now(),
        actor,
        detail,
        ...(report ? { report } : {}),
      }));
    }

    /** Records a request the lifecycle cannot act on in its current stage (the signal itself is in history too). */
    async function refuse(request: string, by: Principal, detail: Record<string, unknown>, problem: string): Promise<void> {
      log.warn(`${request} request refused`, { stage, requestedBy: by.id, problem });
      if (!requestsAnswered) return;
      if (!registered) await condition(() => registered);
      await record('refused', by.id, { request, ...detail, problem }, { step: 'request' });
    }

    // ---- messages ----
    setHandler(approvalSignal, async (request) => {
      // A retried request (same attempt id) is the same attempt: judged and recorded once.
      if (seenAttemptIds.has(request.attemptId) || approvals.some((a) => a.request.attemptId === request.attemptId)) return;
      seenAttemptIds.add(request.attemptId);
      const judged = judgeAttempt(gate, request, { policy: gateStep?.policy ?? defaultApprovalPolicy, ...duties });
      gate = judged.gate;
      const attempt: ApprovalAttempt = { request, at: now(), stage, verdict: judged.verdict };
      approvalSeq += 1;
      approvals = [...approvals, attempt].slice(-APPROVALS_KEPT_IN_STATE);
      if (attempt.verdict.status === 'accepted') decision = attempt;
      // Awaiting only when needed keeps the command order of recorded histories (replay safety).
      if (!registered) await condition(() => registered);
      await recordApprovalAttempt({ workflowId, modelVersionId: versionId, seq: approvalSeq, attempt });
    });
    setHandler(retrainSignal, async (request) => {
      const problem =
        request.refused ??
        (stage !== 'monitor'
          ? `only a version in the monitor stage can be retrained (stage ${stage})`
          : pendingRetrain || (requestsAnswered && successor)
            ? 'a retrain is already under way'
            : null);
      if (problem) return refuse('retrain', request.requestedBy, { reason: request.reason }, problem);
      pendingRetrain = request;
    });
    setHandler(retireSignal, (request) => {
      pendingRetire ??= request;
    });
    setHandler(promoteSignal, async (request) => {
      const problem = request.refused ?? (phase ? null : `no shadow or canary phase is under way (stage ${stage})`);
      if (problem) return refuse('promote', request.requestedBy, { reason: request.reason }, problem);
      promotion ??= request;
    });
    setHandler(observationSignal, (window) => {
      if (seenWindowIds.has(window.id)) return;
      seenWindowIds.add(window.id);
      if (!deployment && !phase) {
        log.warn('observation ignored: the version is not serving', { stage, window: window.id });
        return;
      }
      windows.push(window);
    });
    setHandler(supersededSignal, (notice) => {
      superseded ??= notice;
    });
    setHandler(statusQuery, (): LifecycleStatus => ({
      modelVersionId: versionId,
      template: plan.template,
      stage,
      run,
      monitorCycles,
      approvals,
      deployment,
      phase,
      successor,
      parentWorkflowId: lineage?.parentWorkflowId ?? null,
      drift: { watched: driftUnwatchedBecause === null, unwatchedBecause: driftUnwatchedBecause, last: lastDrift },
      gate:
        gate?.open === true && gateStep
          ? { eligibleGroups: gate.eligibleGroups, approvals: gate.counted.map((c) => c.principal), quorum: gateStep.policy.quorum, deadline: gateDeadline }
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
        ...(input.template !== undefined ? { template: input.template } : {}),
      });
      registered = true;
      await record('passed', registeredBy.id, {
        owner: manifest.owner,
        riskTier: manifest.riskTier,
        artifacts: manifest.artifacts.length,
        parent: lineage?.parentModelVersionId ?? null,
        template: plan.template,
      });
    }

    /** Runs the template's gates in order; the first that does not pass ends the lifecycle. */
    async function gates(): Promise<Stop | null> {
      for (const step of plan.gates) {
        if (requestsAnswered && pendingRetire) return retiredBy(pendingRetire);
        const stop = step.kind === 'approval' ? await approvalGate(step) : await retirable(step.name, () => automatedGate(step));
        if (stop) return stop;
      }
      return null;
    }

    function retiredBy(request: RetireRequest): Stop {
      return { endedBy: 'retired', reason: request.reason, actor: request.requestedBy.id };
    }

    /**
     * Runs an automated gate step that a retire request may cut short: the step's activities are cancelled
     * (a scan stops reading), the step is recorded as cancelled, and the lifecycle retires.
     */
    async function retirable(name: string, step: () => Promise<Stop | null>): Promise<Stop | null> {
      if (!requestsAnswered) return step();
      const scope = new CancellationScope();
      const running = scope.run(step);
      const first = await Promise.race([running, condition(() => pendingRetire !== null).then(() => 'retire' as const)]);
      if (first !== 'retire') return first;
      scope.cancel();
      await running.catch((err: unknown) => {
        if (!isCancellation(err)) throw err;
      });
      const request = pendingRetire!;
      await record('cancelled', request.requestedBy.id, { reason: request.reason }, { step: name });
      return retiredBy(request);
    }

    async function automatedGate(step: Exclude<GateStep, ApprovalStep>): Promise<Stop | null> {
      if (step.kind !== 'parallel') return automated(step);
      const stops = await Promise.all(step.steps.map(automated));
      return stops.find((s) => s !== null) ?? null;
    }

    async function automated(step: AutomatedStep): Promise<Stop | null> {
      if (step.kind === 'test') {
        enter('test');
        const { min, max } = step.bounds;
        const hasMax = Object.keys(max).length > 0;
        const result = await evaluateModel({ modelVersionId: versionId, metrics: manifest.metrics, minMetrics: min, ...(hasMax ? { maxMetrics: max } : {}) });
        await record(result.passed ? 'passed' : 'failed', STEWARD, { minMetrics: min, ...(hasMax ? { maxMetrics: max } : {}) }, { report: result.report, step: step.name, stage: 'test' });
        return result.passed ? null : { endedBy: 'failed-test', reason: `${step.name}: metrics outside the template's bounds`, actor: STEWARD };
      }
      if (step.kind === 'scan') {
        enter('scan');
        let result: Awaited<ReturnType<typeof scanArtifacts>>;
        try {
          result = await scanArtifacts({ modelVersionId: versionId, artifacts: manifest.artifacts });
        } catch (err) {
          // Out of attempts (a worker that keeps dying mid-read, a store that keeps failing): nothing was
          // verified, so the gate fails, naming why. Before attempts were bounded this could not happen.
          if (!(err instanceof ActivityFailure) || isCancellation(err)) throw err;
          const problem = err.cause?.message ?? err.message;
          await record('failed', STEWARD, { blockAt: step.blockAt, problem }, { step: step.name, stage: 'scan' });
          return { endedBy: 'failed-scan', reason: `${step.name}: the scan could not complete: ${problem}`, actor: STEWARD };
        }
        const passed = !severityAtLeast(result.maxSeverity, step.blockAt);
        await record(passed ? 'passed' : 'failed', STEWARD, { maxSeverity: result.maxSeverity, blockAt: step.blockAt }, { report: result.report, step: step.name, stage: 'scan' });
        return passed ? null : { endedBy: 'failed-scan', reason: 'security findings at or above the blocking severity', actor: STEWARD };
      }
      enter(step.phase);
      const verdict: StepVerdict = await step.run({ manifest, modelVersionId: versionId, activities: { evaluateModel } });
      await record(verdict.passed ? 'passed' : 'failed', STEWARD, { reason: verdict.reason, ...verdict.detail }, { ...(verdict.report ? { report: verdict.report } : {}), step: step.name, stage: step.phase });
      if (verdict.passed) return null;
      return { endedBy: step.phase === 'scan' ? 'failed-scan' : 'failed-test', reason: `${step.name}: ${verdict.reason}`, actor: STEWARD };
    }

    /**
     * Waits for the approvers: a quorum of distinct eligible approvers passes the gate, one rejection ends it.
     * With a deadline, durable timers remind the approvers, notify the escalation group, and at the timeout
     * reject or hand the gate to another group.
     */
    async function approvalGate(step: ApprovalStep): Promise<Stop | null> {
      const { policy, name: named } = step;
      enter('approval');
      gateStep = step;
      decision = null;
      gate = openGate(policy);
      const opened = Date.now();
      const { deadline } = policy;
      gateDeadline = deadline ? new Date(opened + deadline.timeoutMs).toISOString() : null;
      /** The gate is decided, expired, or (histories recorded since) withdrawn by a retire request. */
      const settled = () => !gate!.open || (requestsAnswered && pendingRetire !== null);
      // Waiting on people: recorded on entry too, so the catalog (and the inbox built on it) shows who waits.
      await record(
        'entered',
        STEWARD,
        {
          groups: policy.groups,
          quorum: policy.quorum,
          requireEveryGroup: policy.requireEveryGroup,
          excludeOwningTeam: policy.excludeOwningTeam,
          deadline: gateDeadline,
          // Who the gate shuts out, so the approvals inbox shows the gate only to people it would count.
          authors: duties.authors,
          ...(policy.excludeOwningTeam ? { owningTeams: duties.owningTeams } : {}),
        },
        { step: named },
      );

      let expiresAt = deadline ? opened + deadline.timeoutMs : null;
      let escalated = false;
      for (const timer of gateTimers(policy)) {
        const at = timer.kind === 'timeout' ? expiresAt! : opened + timer.atMs;
        if (await condition(settled, Math.max(at - Date.now(), 0))) break;
        if (timer.kind === 'reminder') {
          await notify(`${prefix(named)}reminder-${timer.index}`, 'approval.reminder', { groups: gate.eligibleGroups, approvals: gate.counted.length, deadline: gateDeadline });
        } else if (timer.kind === 'escalation-notice') {
          await notify(`${prefix(named)}escalation-notice`, 'approval.escalation', { group: timer.group, approvals: gate.counted.length, deadline: gateDeadline });
        } else if (deadline!.onTimeout.action === 'escalate' && !escalated) {
          // Hand the gate to the escalation group for a last stretch; approvals already counted still count.
          escalated = true;
          expiresAt = Date.now() + deadline!.onTimeout.extraMs;
          gateDeadline = new Date(expiresAt).toISOString();
          gate = { ...gate, eligibleGroups: [deadline!.onTimeout.group] };
          await record('escalated', STEWARD, { groups: gate.eligibleGroups, quorum: policy.quorum, deadline: gateDeadline }, { step: named });
          if (await condition(settled, Math.max(expiresAt - Date.now(), 0))) break;
          gate = { ...gate, open: false, expired: true };
        } else {
          gate = { ...gate, open: false, expired: true };
        }
      }
      await condition(settled);

      if (gate.open) {
        // Retired while waiting on people: attempts from now on find the gate closed and are refused.
        gate = { ...gate, open: false };
        const request = pendingRetire!;
        await record('cancelled', request.requestedBy.id, { reason: request.reason, approvals: gate.counted.map((c) => c.principal) }, { step: named });
        return retiredBy(request);
      }
      if (!decision) {
        await record('expired', STEWARD, { deadline: gateDeadline, approvals: gate.counted.map((c) => c.principal) }, { step: named });
        return { endedBy: 'expired', reason: 'no decision before the approval deadline', actor: STEWARD };
      }
      const accepted: ApprovalAttempt = decision;
      const { principal, comment } = accepted.request;
      const approved = accepted.request.decision === 'approve';
      await record(
        approved ? 'passed' : 'rejected',
        principal.id,
        { decision: accepted.request.decision, comment, roles: principal.roles, approvers: approved ? gate.counted.map((c) => c.principal) : [] },
        { step: named },
      );
      return approved ? null : { endedBy: 'rejected', reason: comment || 'rejected by approver', actor: principal.id };
    }

    /** Event ids of the first approval gate keep their recorded form; later gates are told apart by name. */
    function prefix(step: string): string {
      return plan.gates.find((g) => g.kind === 'approval')?.name === step ? '' : `${step}/`;
    }

    async function notify(key: string, type: string, data: Record<string, unknown>): Promise<void> {
      await publishEvent({ id: `${workflowId}/${key}`, type, modelVersionId: versionId, workflowId, at: now(), data });
    }

    /** Walks the template's phases (shadow, canary), then replaces the champion. */
    async function deploy(): Promise<Stop | null> {
      enter('deploy');
      for (const p of plan.deploy.phases) {
        const stop = await deployPhase(p);
        if (stop) return stop;
      }
      deployment = await deployVersion({
        deploymentId: `${workflowId}/deploy`,
        modelName: manifest.name,
        modelVersionId: versionId,
        target: manifest.deploymentTarget,
        at: now(),
      });
      await record('passed', STEWARD, { ...deployment, strategy: 'replace' });
      if (lineage) await notifyParentSuperseded(lineage);
      return null;
    }

    /**
     * One phase: the candidate takes its share of traffic for the hold time (or until someone promotes it),
     * then must still be healthy to go on. A phase ended behind the lifecycle's back rolls the version back.
     */
    async function deployPhase(p: DeployPhase): Promise<Stop | null> {
      const phaseDeployment = await deployVersion({
        deploymentId: `${workflowId}/deploy/${p.name}`,
        modelName: manifest.name,
        modelVersionId: versionId,
        target: manifest.deploymentTarget,
        at: now(),
        strategy: p.mode,
        trafficShare: p.trafficShare,
      });
      const until = new Date(Date.now() + p.holdMs).toISOString();
      phase = { name: p.name, mode: p.mode, trafficShare: p.trafficShare, until };
      await record('entered', STEWARD, { ...phaseDeployment, strategy: p.mode, trafficShare: p.trafficShare, until }, { step: p.name });
      // Hold until the time is up or someone promotes; judge observed windows as they come, and stop at a breach.
      const holdEnds = Date.now() + p.holdMs;
      const breaches: string[] = [];
      while (await condition(() => promotion !== null || pendingRetire !== null || windows.length > 0, Math.max(holdEnds - Date.now(), 0))) {
        if (!windows.length) break;
        breaches.push(...(await judgeWindows()));
        if (breaches.length) break;
      }
      const cut = promotion;
      phase = null;
      promotion = null;

      if (pendingRetire) {
        await endDeployment({ deploymentId: phaseDeployment.deploymentId, at: now(), reason: `retired during ${p.name}` });
        return { endedBy: 'retired', reason: pendingRetire.reason, actor: pendingRetire.requestedBy.id };
      }
      if (breaches.length) {
        const reason = `${p.name}: ${breaches.join('; ')}`;
        await endDeployment({ deploymentId: phaseDeployment.deploymentId, at: now(), reason: `rolled back: ${breaches.join('; ')}` });
        await record('failed', STEWARD, { reason: 'monitor policy breached', breaches }, { step: p.name });
        return { endedBy: 'rolled-back', reason, actor: STEWARD };
      }
      const probe = await probeDeployment({ deploymentId: phaseDeployment.deploymentId });
      if (probe.ended) {
        await record('failed', STEWARD, { reason: probe.endReason ?? 'phase deployment ended' }, { step: p.name });
        return { endedBy: 'rolled-back', reason: `${p.name}: ${probe.endReason ?? 'phase deployment ended'}`, actor: STEWARD };
      }
      const reason = cut ? `promoted early: ${cut.reason}` : 'hold time elapsed, healthy';
      await endDeployment({ deploymentId: phaseDeployment.deploymentId, at: now(), reason: `promoted after ${p.name}` });
      await record('passed', cut?.requestedBy.id ?? STEWARD, { reason }, { step: p.name });
      return null;
    }

    /** Judges every observed window waiting, in arrival order, recording each verdict; returns the breaches. */
    async function judgeWindows(): Promise<string[]> {
      const breaches: string[] = [];
      for (let window = windows.shift(); window; window = windows.shift()) {
        const verdict = judgeWindow(window, plan.monitor);
        const { requests, errors, kpis } = window;
        await record(
          verdict.breaches.length ? 'breached' : 'passed',
          STEWARD,
          { window: windowRef(window), requests, errors, kpis, ...verdict, ...(phase ? { phase: phase.name } : {}) },
          { step: 'observation' },
        );
        breaches.push(...verdict.breaches);
        if (window.sample) await judgeDrift(window, window.sample);
      }
      return breaches;
    }

    /**
     * Compares the window's sample of live inputs with the reference dataset and records the verdict. Drift
     * is about the data, not the candidate, so it never rolls a phase back; in the monitor loop a template
     * with `retrain.onDrift` starts a retrain.
     */
    async function judgeDrift(window: Observation, sample: NonNullable<Observation['sample']>): Promise<void> {
      const policy = plan.monitor.drift;
      const reference = manifest.referenceDataset;
      if (driftUnwatchedBecause !== null || !policy || !reference) {
        log.warn('sample ignored: drift is not watched', { window: window.id, because: driftUnwatchedBecause });
        return;
      }
      const about = { window: windowRef(window), sample, ...(phase ? { phase: phase.name } : {}) };
      let result: Awaited<ReturnType<typeof detectDrift>>;
      try {
        result = await detectDrift({ modelVersionId: versionId, window: window.id, reference, sample, columns: driftColumns(manifest.inputSchema), policy });
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        const problem = err.cause?.message ?? err.message;
        lastDrift = { at: now(), window: window.id, outcome: 'failed', share: null, driftedColumns: [] };
        await record('failed', STEWARD, { ...about, problem }, { step: 'drift' });
        return;
      }
      const { summary, report } = result;
      lastDrift = { at: now(), window: window.id, outcome: summary.drifted ? 'drifted' : 'passed', share: summary.share, driftedColumns: summary.driftedColumns };
      await record(summary.drifted ? 'drifted' : 'passed', STEWARD, { ...about, ...summary }, { step: 'drift', report });
      if (summary.drifted && plan.retrain.onDrift && stage === 'monitor' && !pendingRetrain && !successor) {
        const columns = summary.driftedColumns;
        pendingRetrain = {
          requestedBy: STEWARD_PRINCIPAL,
          reason: `feature drift in window ${window.id}: ${columns.length} of ${summary.columnsCompared} columns drifted (${columns.slice(0, 5).join(', ')}${columns.length > 5 ? ', …' : ''})`,
        };
      }
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
        ...(reusesArtifacts ? { authors: [registeredBy, ...(input.authors ?? [])] } : {}),
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
        await record('failed', request.requestedBy.id, { reason: request.reason, problem: `${childWorkflowId} already exists` });
        enter('monitor');
        return;
      }
      successor = { workflowId: childWorkflowId, version };
      await record('passed', request.requestedBy.id, { reason: request.reason, successor: childWorkflowId });
    }

    async function retire({ endedBy, reason, actor }: Stop): Promise<LifecycleResult> {
      enter('retire');
      if (deployment) await endDeployment({ deploymentId: deployment.deploymentId, at: now(), reason });
      await record('completed', actor, { endedBy, reason });
      await condition(allHandlersFinished);
      return { modelVersionId: versionId, endedBy, reason };
    }

    /** Watches the live deployment until the version is superseded, retired or reaches its end of life. */
    async function monitor(): Promise<LifecycleResult> {
      const { intervalMs, cyclesPerRun } = plan.monitor;
      if (!resume) {
        enter('monitor');
        const { drift, kpis, maxErrorRate } = plan.monitor;
        await record('passed', STEWARD, { intervalMs, deployment, drift, kpis, maxErrorRate });
      }
      const endOfLife = plan.retire.maxLifetimeMs === null ? null : Date.parse(deployment!.since) + plan.retire.maxLifetimeMs;
      let cyclesThisRun = 0;
      for (;;) {
        if (superseded) return retire({ endedBy: 'superseded', reason: `replaced by ${superseded.successorWorkflowId}`, actor: STEWARD });
        if (pendingRetire) return retire({ endedBy: 'retired', reason: pendingRetire.reason, actor: pendingRetire.requestedBy.id });
        if (endOfLife !== null && Date.now() >= endOfLife) {
          return retire({ endedBy: 'end-of-life', reason: `reached the template's maximum lifetime (${plan.retire.maxLifetimeMs} ms in production)`, actor: STEWARD });
        }
        if (windows.length) {
          // Breaches are recorded (and so published as events); the version keeps serving until people act.
          await judgeWindows();
          continue;
        }
        if (pendingRetrain) {
          await retrain(pendingRetrain);
          pendingRetrain = null;
          continue;
        }
        if (cyclesThisRun >= cyclesPerRun || workflowInfo().continueAsNewSuggested) return continueAtBoundary();
        const wait = endOfLife === null ? intervalMs : Math.max(Math.min(intervalMs, endOfLife - Date.now()), 0);
        const interrupted = await condition(() => superseded !== null || pendingRetire !== null || pendingRetrain !== null || windows.length > 0, wait);
        if (interrupted || (endOfLife !== null && Date.now() >= endOfLife)) continue;
        cyclesThisRun += 1;
        monitorCycles += 1;
        const probe = await probeDeployment({ deploymentId: deployment!.deploymentId });
        if (probe.ended && !superseded) return retire({ endedBy: 'superseded', reason: probe.endReason ?? 'deployment ended', actor: STEWARD });
      }
    }

    /**
     * The safe point between two runs of the monitor loop. A template version that declares `migrateFrom`
     * this lifecycle's version takes over here, behind a patch marker, so histories recorded before the
     * migration existed replay unchanged.
     */
    async function continueAtBoundary(): Promise<never> {
      await condition(allHandlersFinished);
      const from = input.template;
      const target = from !== undefined ? registry.migrationFrom(from) : null;
      if (from !== undefined && target && patched(`steward:template-migration:${from}->${target.ref}`)) {
        await record('migrated', STEWARD, { from, to: target.ref }, { step: 'template' });
        await condition(allHandlersFinished);
        const continueOnTarget = makeContinueAsNewFunc<ModelLifecycle>({ memo: { ...workflowInfo().memo, template: target.ref } });
        return continueOnTarget({ ...input, template: target.ref, resume: checkpoint() });
      }
      return continueAsNew<ModelLifecycle>({ ...input, resume: checkpoint() });
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
        ...(windows.length ? { pendingWindows: [...windows] } : {}),
        ...(lastDrift ? { lastDrift } : {}),
      };
    }

    // ---- the lifecycle ----
    if (resume) return monitor();

    await register();
    const stopped = (await gates()) ?? (await deploy());
    if (stopped) return retire(stopped);
    return monitor();
  };
}
