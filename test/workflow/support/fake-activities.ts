import { EventEmitter } from 'node:events';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { ComputeActivities, LifecycleActivities } from '../../../activities/index.js';
import type { liveMonitoringActivities, WindowLabelsResult } from '../../../activities/live-monitoring.js';
import type { Severity } from '../../../core/policy.js';

/**
 * Test doubles for every activity the lifecycle calls, by name, returning the values the real ones would.
 * Each call is recorded (activity name and input), so a test asserts on what the workflow asked for: the
 * transitions it recorded, the approval attempts, the notifications, the deployments. Behaviour a test needs
 * to steer (a scan's findings, a scan that never finishes, a drift verdict, a deployment ended behind the
 * lifecycle's back) is set per workflow id.
 */

type Lifecycle = Pick<
  LifecycleActivities,
  'registerVersion' | 'recordStage' | 'recordApprovalAttempt' | 'publishEvent' | 'evaluateModel' | 'scanArtifacts' | 'deployVersion' | 'probeDeployment' | 'endDeployment' | 'evaluateWindowLabels'
>;
type Compute = Pick<ComputeActivities, 'detectDrift' | 'scanArtifacts'> & Pick<ReturnType<typeof liveMonitoringActivities>, 'detectWindowDrift'>;
type DeployInput = Parameters<Lifecycle['deployVersion']>[0];
type DriftRequest = Parameters<Compute['detectDrift']>[0];
type DriftResult = Awaited<ReturnType<Compute['detectDrift']>>;

/** A transition as the workflow handed it to `recordStage`; `detail` read as plain JSON. */
export interface RecordedTransition {
  readonly workflowId: string;
  readonly seq: number;
  readonly stage: string;
  readonly step?: string;
  readonly outcome: string;
  readonly actor: string;
  readonly at: string;
  readonly detail: Readonly<Record<string, unknown>>;
  readonly report?: { readonly kind: string; readonly digest: string; readonly summary: Readonly<Record<string, unknown>> };
}

export interface RecordedCall {
  readonly activity: string;
  readonly workflowId: string;
  /** 1 for the first attempt; retries of the same call count up. */
  readonly attempt: number;
  /** Which task queue the call was taken from (the lifecycle's or its compute queue). */
  readonly taskQueue: string;
  readonly input: Record<string, unknown>;
}

/** What the scan finds, or how it goes wrong. */
export type ScanBehaviour =
  | { readonly maxSeverity: Severity }
  /** Every attempt fails with this message (an outage the retries do not outlast). */
  | { readonly throws: string }
  /** Reads forever, heartbeating, until the workflow cancels it. */
  | { readonly hangs: true };

/** The drift activity's verdict for a window's sample. */
export type DriftBehaviour =
  | { readonly drifted: boolean; readonly driftedColumns?: readonly string[] }
  /** The data cannot be compared (a problem with the file, not an outage): fails for good. */
  | { readonly problem: string };

export interface FakeDeployment {
  readonly deploymentId: string;
  readonly workflowId: string;
  readonly modelVersionId: string;
  readonly target: string;
  readonly strategy: string;
  readonly trafficShare: number;
  readonly since: string;
  ended: { readonly at: string; readonly reason: string } | null;
}

/** `stage[/step]:outcome`; the step is left out where it only repeats the stage's name. */
export const pathEntry = (t: RecordedTransition) => `${t.stage}${t.step && t.step !== t.stage ? `/${t.step}` : ''}:${t.outcome}`;

const digestOf = (text: string) => `sha256:${Buffer.from(text).toString('hex').padEnd(64, '0').slice(0, 64)}`;

export class FakeActivities {
  readonly calls: RecordedCall[] = [];
  readonly deployments = new Map<string, FakeDeployment>();
  /** What ending a deployment answers as the gateways' drain (0 unless a test sets it: no retirement timer). */
  drainMs = 0;
  private readonly scans = new Map<string, ScanBehaviour>();
  private readonly drifts = new Map<string, DriftBehaviour>();
  private readonly windowDrifts = new Map<string, { features: boolean; prediction: boolean }>();
  private readonly performances = new Map<string, Omit<WindowLabelsResult, 'previous' | 'skipped'>[]>();
  private readonly measured = new Map<string, Omit<WindowLabelsResult, 'previous' | 'skipped'>>();
  private readonly unhealthy = new Map<string, string>();
  private readonly changed = new EventEmitter().setMaxListeners(100);

  /** Sets what the scan of this lifecycle finds (default: low-severity findings only). */
  scan(workflowId: string, behaviour: ScanBehaviour): void {
    this.scans.set(workflowId, behaviour);
  }

  /** Sets the drift verdict of this lifecycle's windows (default: no drift). */
  drift(workflowId: string, behaviour: DriftBehaviour): void {
    this.drifts.set(workflowId, behaviour);
  }

  /** Sets whether this lifecycle's gateway windows show feature and prediction drift (default: neither). */
  windowDrift(workflowId: string, behaviour: { features: boolean; prediction: boolean }): void {
    this.windowDrifts.set(workflowId, behaviour);
  }

  /** Queues what the next evaluations of this lifecycle's labelled windows measure, in order. */
  performance(workflowId: string, ...results: Omit<WindowLabelsResult, 'previous' | 'skipped'>[]): void {
    this.performances.set(workflowId, [...(this.performances.get(workflowId) ?? []), ...results]);
  }

  /** Ends a deployment outside the lifecycle, as an operator or another version taking the target would. */
  endBehindTheBack(deploymentId: string, reason: string): void {
    const deployment = this.deployments.get(deploymentId);
    if (!deployment) throw new Error(`no deployment ${deploymentId} (known: ${[...this.deployments.keys()].join(', ')})`);
    deployment.ended = { at: new Date().toISOString(), reason };
  }

  /** Makes the deployment's runtime stop serving it: probes answer not ready, with this problem. */
  failHealth(deploymentId: string, problem: string): void {
    this.unhealthy.set(deploymentId, problem);
  }

  callsOf(activity: string, workflowId?: string): RecordedCall[] {
    return this.calls.filter((c) => c.activity === activity && (workflowId === undefined || c.workflowId === workflowId));
  }

  /** This lifecycle's transitions in the order the lifecycle numbered them (side-by-side steps finish in any order). */
  transitions(workflowId: string): RecordedTransition[] {
    return this.callsOf('recordStage', workflowId)
      .map((c) => c.input as unknown as RecordedTransition)
      .sort((a, b) => a.seq - b.seq);
  }

  /** `stage[/step]:outcome` of every transition, in the lifecycle's order: its path at a glance. */
  path(workflowId: string): string[] {
    return this.transitions(workflowId).map(pathEntry);
  }

  events(workflowId: string): Record<string, unknown>[] {
    return this.callsOf('publishEvent', workflowId).map((c) => c.input);
  }

  /**
   * Resolves with the first recorded call that matches, waiting for it if it has not happened yet; fails
   * naming what it waited for and what was recorded instead.
   */
  async waitFor(what: string, match: (call: RecordedCall) => boolean, timeoutMs = 20_000): Promise<RecordedCall> {
    const found = this.calls.find(match);
    if (found) return found;
    return new Promise((resolve, reject) => {
      const onCall = (call: RecordedCall) => {
        if (!match(call)) return;
        clearTimeout(timer);
        this.changed.off('call', onCall);
        resolve(call);
      };
      const timer = setTimeout(() => {
        this.changed.off('call', onCall);
        const seen = [...new Set(this.calls.map((c) => c.workflowId))].map((id) => `${id}: ${this.path(id).join(' → ')}`);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; recorded:\n${seen.join('\n')}`));
      }, timeoutMs);
      this.changed.on('call', onCall);
    });
  }

  /**
   * Waits for the `nth` transition of this lifecycle matching `entry`: `stage[/step]:outcome` as in `path`, or
   * `stage[/step]` for any outcome.
   */
  async transition(workflowId: string, entry: string, { nth = 1, timeoutMs }: { nth?: number; timeoutMs?: number } = {}): Promise<RecordedTransition> {
    const matches = (t: RecordedTransition) => {
      const full = pathEntry(t);
      return full === entry || (!entry.includes(':') && full.split(':')[0] === entry);
    };
    let seen = 0;
    const call = await this.waitFor(
      `${workflowId} to record ${entry}${nth > 1 ? ` (the ${nth}th time)` : ''}`,
      (c) => c.activity === 'recordStage' && c.workflowId === workflowId && matches(c.input as unknown as RecordedTransition) && ++seen === nth,
      timeoutMs,
    );
    return call.input as unknown as RecordedTransition;
  }

  /**
   * Holds the next call that matches until the test releases it, so the test can act while the workflow
   * waits on that activity (a signal that arrives mid-step).
   */
  hold(what: string, match: (call: RecordedCall) => boolean): { reached: Promise<RecordedCall>; release(): void } {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const hold = { match, released };
    this.holds.push(hold);
    return { reached: this.waitFor(what, match), release };
  }

  private readonly holds: { match: (call: RecordedCall) => boolean; released: Promise<void> }[] = [];

  private record(activity: string, input: object): RecordedCall {
    const info = Context.current().info;
    const call: RecordedCall = { activity, workflowId: info.workflowExecution?.workflowId ?? '', attempt: info.attempt, taskQueue: info.taskQueue, input: input as Record<string, unknown> };
    this.calls.push(call);
    this.changed.emit('call', call);
    return call;
  }

  /** Records the call, then waits while a test holds it. */
  private async recordHeld(activity: string, input: object): Promise<RecordedCall> {
    const call = this.record(activity, input);
    const index = this.holds.findIndex((h) => h.match(call));
    if (index >= 0) {
      const [hold] = this.holds.splice(index, 1);
      await hold!.released;
    }
    return call;
  }

  /** The activities of the lifecycle task queue. */
  lifecycle(): Lifecycle {
    return this.tracked({
      registerVersion: async (input) => {
        this.record('registerVersion', input);
      },
      recordStage: async (t) => {
        await this.recordHeld('recordStage', t);
      },
      recordApprovalAttempt: async (input) => {
        this.record('recordApprovalAttempt', input);
      },
      publishEvent: async (event) => {
        this.record('publishEvent', event);
      },
      evaluateModel: async (input) => {
        this.record('evaluateModel', input);
        // The real gate's rule: every bounded metric reported, each minimum reached, each maximum kept.
        const checks = [
          ...Object.entries(input.minMetrics).map(([metric, minimum]) => ({ metric, minimum, value: input.metrics[metric] ?? null })),
          ...Object.entries(input.maxMetrics ?? {}).map(([metric, maximum]) => ({ metric, maximum, value: input.metrics[metric] ?? null })),
        ].map((c) => ({ ...c, passed: c.value !== null && ('minimum' in c ? c.value >= c.minimum : c.value <= c.maximum) }));
        const passed = checks.every((c) => c.passed);
        return { passed, report: { kind: 'evaluation', digest: digestOf(`evaluation ${input.modelVersionId} ${JSON.stringify(checks)}`), summary: { passed, checks } } };
      },
      scanArtifacts: async (input) => {
        const call = this.record('scanArtifacts', input);
        const behaviour = this.scans.get(call.workflowId) ?? { maxSeverity: 'low' };
        if ('throws' in behaviour) throw new Error(behaviour.throws);
        if ('hangs' in behaviour) {
          // Like a read of a trickling URL: heartbeats keep it alive, cancellation (delivered with one) ends it.
          const context = Context.current();
          try {
            for (;;) {
              context.heartbeat({ bytesRead: 0 });
              await context.sleep(100);
            }
          } catch (err) {
            if (err instanceof CancelledFailure) this.record('scanArtifacts:cancelled', input);
            throw err;
          }
        }
        const { maxSeverity } = behaviour;
        const counts = { [maxSeverity]: 1 };
        return { maxSeverity, report: { kind: 'scan', digest: digestOf(`scan ${input.modelVersionId}`), summary: { maxSeverity, counts, findings: [] } } };
      },
      deployVersion: async (input) => {
        this.record('deployVersion', input);
        return this.deploy(input, Context.current().info.workflowExecution?.workflowId ?? '');
      },
      probeDeployment: async (input) => {
        this.record('probeDeployment', input);
        const ended = this.deployments.get(input.deploymentId)?.ended ?? null;
        const problem = this.unhealthy.get(input.deploymentId);
        if (ended || !problem) return { ended: ended !== null, endReason: ended?.reason ?? null, ready: true };
        return { ended: false, endReason: null, ready: false, problem };
      },
      evaluateWindowLabels: async (input) => {
        const call = this.record('evaluateWindowLabels', input);
        // Like the real one: the window's previous measurement comes back beside the new one.
        const next = this.performances.get(call.workflowId)?.shift() ?? { labelled: 0, metrics: {}, fairness: {} };
        const previous = this.measured.get(input.window) ?? null;
        this.measured.set(input.window, next);
        return { ...next, previous, skipped: 0 };
      },
      endDeployment: async (input) => {
        this.record('endDeployment', input);
        const deployment = this.deployments.get(input.deploymentId);
        if (deployment && !deployment.ended) deployment.ended = { at: input.at, reason: input.reason };
        return { drainMs: this.drainMs };
      },
    });
  }

  /** The activities of the compute task queue (`<queue>-compute`). */
  compute(): Compute {
    return this.tracked({
      // The scan moved to the compute queue (patch steward:scan-on-compute); the same double answers there.
      scanArtifacts: (input) => this.lifecycle().scanArtifacts(input),
      detectDrift: async (request) => {
        const call = this.record('detectDrift', request);
        const behaviour = this.drifts.get(call.workflowId) ?? { drifted: false };
        if ('problem' in behaviour) throw ApplicationFailure.nonRetryable(behaviour.problem, 'DatasetProblem');
        return driftResult(request, behaviour.drifted, behaviour.driftedColumns);
      },
      detectWindowDrift: async (request) => {
        const call = this.record('detectWindowDrift', request);
        const behaviour = this.windowDrifts.get(call.workflowId) ?? { features: false, prediction: false };
        const sample = { uri: `gateway-window:${request.window}`, sha256: 'c'.repeat(64) };
        const features = request.features
          ? driftResult({ ...request, sample, columns: request.features.columns, policy: request.features.policy }, behaviour.features)
          : null;
        const prediction = request.prediction
          ? { column: request.prediction.output, stattest: 'ks' as const, statistic: behaviour.prediction ? 0.0001 : 0.4, threshold: 0.05, drifted: behaviour.prediction, referenceRows: 5000, currentRows: 40 }
          : null;
        return { sample, features, prediction };
      },
    });
  }

  private readonly inFlight = new Map<string, number>();

  /**
   * Resolves once none of this lifecycle's activities is running. A retire sent while an activity of a gate
   * is finishing makes the workflow cancel an activity the test server already counts as done, which it
   * refuses (ACTIVITY_UNKNOWN) and the lifecycle sticks; tests retire at rest.
   */
  async idle(workflowId: string, timeoutMs = 20_000): Promise<void> {
    if (!this.inFlight.get(workflowId)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${workflowId} still runs an activity after ${timeoutMs} ms`)), timeoutMs);
      const onIdle = (id: string) => {
        if (id !== workflowId || this.inFlight.get(workflowId)) return;
        clearTimeout(timer);
        this.changed.off('idle', onIdle);
        resolve();
      };
      this.changed.on('idle', onIdle);
    });
  }

  /** Counts each lifecycle's running activities, for `idle`. */
  private tracked<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
    return Object.fromEntries(
      Object.entries(activities).map(([name, fn]) => [
        name,
        async (...args: never[]) => {
          const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
          this.inFlight.set(workflowId, (this.inFlight.get(workflowId) ?? 0) + 1);
          try {
            return await fn(...args);
          } finally {
            this.inFlight.set(workflowId, this.inFlight.get(workflowId)! - 1);
            this.changed.emit('idle', workflowId);
          }
        },
      ]),
    ) as T;
  }

  /** Idempotent like the real one: the same deployment id is one deployment; a replace ends the champion. */
  private deploy(input: DeployInput, workflowId: string) {
    const existing = this.deployments.get(input.deploymentId);
    const strategy = input.strategy ?? 'replace';
    if (!existing) {
      if (strategy === 'replace') {
        for (const d of this.deployments.values()) {
          if (d.target === input.target && d.strategy === 'replace' && !d.ended) d.ended = { at: input.at, reason: `replaced by ${input.modelVersionId}` };
        }
      }
      this.deployments.set(input.deploymentId, {
        deploymentId: input.deploymentId,
        workflowId,
        modelVersionId: input.modelVersionId,
        target: input.target,
        strategy,
        trafficShare: input.trafficShare ?? 1,
        since: input.at,
        ended: null,
      });
    }
    const d = this.deployments.get(input.deploymentId)!;
    return { deploymentId: d.deploymentId, target: d.target, since: d.since };
  }
}

function driftResult(request: DriftRequest, drifted: boolean, named?: readonly string[]): DriftResult {
  const columns = request.columns.map((c) => c.name);
  const driftedColumns = drifted ? [...(named ?? columns)] : [];
  const summary = {
    drifted,
    share: columns.length ? driftedColumns.length / columns.length : 0,
    columnShare: request.policy.columnShare,
    columnsCompared: columns.length,
    driftedColumns,
    columns: columns.map((column) => ({ column, stattest: 'ks' as const, statistic: driftedColumns.includes(column) ? 0.001 : 0.62, threshold: 0.05, drifted: driftedColumns.includes(column) })),
    referenceRows: 5000,
    currentRows: 800,
  };
  return { summary, report: { kind: 'drift', digest: digestOf(`drift ${request.modelVersionId} ${request.window}`), summary: { drifted, share: summary.share } } };
}
