import { ActivityFailure, CancellationScope, condition, isCancellation, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { evaluationActivities } from '../../../activities/testing.js';
import type { EvaluatePolicy } from '../../../core/evaluation.js';
import { computeTaskQueue } from '../../../core/task-queues.js';
import { scanPasses } from '../../../core/gates.js';
import type { Stop } from '../../../core/lifecycle.js';
import type { ApprovalStep, AutomatedStep, GateStep, StepVerdict, TestStep } from '../../dsl/plan.js';
import { activities, computeScan, scanArtifacts, STEWARD } from '../proxies.js';
import type { LifecycleContext } from '../context.js';
import * as approval from './approval.js';
import { retiredBy } from './retire.js';

/** Gates: the template's test, scan, custom and approval steps in order; the first that does not pass ends the lifecycle. */
export async function run(ctx: LifecycleContext): Promise<Stop | null> {
  for (const step of ctx.plan.gates) {
    const retire = ctx.state.retire.pending;
    if (ctx.requestsAnswered && retire) return retiredBy(retire);
    const stop = step.kind === 'approval' ? await approval.run(ctx, step) : await retirable(ctx, step.name, () => automatedGate(ctx, step));
    if (stop) return stop;
  }
  return null;
}

/**
 * Runs an automated gate step that a retire request may cut short: the step's activities are cancelled
 * (a scan stops reading), the step is recorded as cancelled, and the lifecycle retires.
 */
async function retirable(ctx: LifecycleContext, name: string, step: () => Promise<Stop | null>): Promise<Stop | null> {
  if (!ctx.requestsAnswered) return step();
  const retire = ctx.state.retire;
  const scope = new CancellationScope();
  const running = scope.run(step);
  const first = await Promise.race([running, condition(() => retire.pending !== null).then(() => 'retire' as const)]);
  if (first !== 'retire') return first;
  scope.cancel();
  await running.catch((err: unknown) => {
    if (!isCancellation(err)) throw err;
  });
  const request = retire.pending!;
  await ctx.record({ stage: ctx.state.stage, step: name, outcome: 'cancelled', detail: { reason: request.reason } }, request.requestedBy.id);
  return retiredBy(request);
}

async function automatedGate(ctx: LifecycleContext, step: Exclude<GateStep, ApprovalStep>): Promise<Stop | null> {
  if (step.kind !== 'parallel') return automated(ctx, step);
  const stops = await Promise.all(step.steps.map((s) => automated(ctx, s)));
  return stops.find((s) => s !== null) ?? null;
}

async function automated(ctx: LifecycleContext, step: AutomatedStep): Promise<Stop | null> {
  const { manifest } = ctx.input;
  if (step.kind === 'test') {
    ctx.enter('test');
    // Only templates that ask for scoring reach the marker, so histories of earlier templates replay unchanged.
    if (step.evaluate && patched('steward:test-by-scoring')) {
      const stop = await scoredTest(ctx, step, step.evaluate);
      if (stop !== 'declared-metrics') return stop;
    }
    const { min, max } = step.bounds;
    const hasMax = Object.keys(max).length > 0;
    const result = await activities.evaluateModel({ modelVersionId: ctx.versionId, metrics: manifest.metrics, minMetrics: min, ...(hasMax ? { maxMetrics: max } : {}) });
    const detail = { minMetrics: min, ...(hasMax ? { maxMetrics: max } : {}) };
    await ctx.record({ stage: 'test', step: step.name, outcome: result.passed ? 'passed' : 'failed', detail }, STEWARD, { report: result.report });
    return result.passed ? null : { endedBy: 'failed-test', reason: `${step.name}: metrics outside the template's bounds`, actor: STEWARD };
  }
  if (step.kind === 'scan') {
    ctx.enter('scan');
    let result: Awaited<ReturnType<typeof scanArtifacts>>;
    try {
      // Dependencies and license are judged too; activity inputs are not compared on replay, so no patch is needed.
      const subject = { dependencies: manifest.dependencies, ...(manifest.license ? { license: manifest.license } : {}) };
      const scan = patched('steward:scan-on-compute') ? computeScan(workflowInfo().taskQueue) : scanArtifacts;
      result = await scan({ modelVersionId: ctx.versionId, artifacts: manifest.artifacts, ...subject });
    } catch (err) {
      // Out of attempts (a worker that keeps dying mid-read, a store that keeps failing): nothing was
      // verified, so the gate fails, naming why. Before attempts were bounded this could not happen.
      if (!(err instanceof ActivityFailure) || isCancellation(err)) throw err;
      const problem = err.cause?.message ?? err.message;
      await ctx.record({ stage: 'scan', step: step.name, outcome: 'failed', detail: { blockAt: step.blockAt, problem } }, STEWARD);
      return { endedBy: 'failed-scan', reason: `${step.name}: the scan could not complete: ${problem}`, actor: STEWARD };
    }
    const passed = scanPasses(result.maxSeverity, step.blockAt);
    const detail = { maxSeverity: result.maxSeverity, blockAt: step.blockAt };
    await ctx.record({ stage: 'scan', step: step.name, outcome: passed ? 'passed' : 'failed', detail }, STEWARD, { report: result.report });
    return passed ? null : { endedBy: 'failed-scan', reason: 'security findings at or above the blocking severity', actor: STEWARD };
  }
  ctx.enter(step.phase);
  const verdict: StepVerdict = await step.run({ manifest, modelVersionId: ctx.versionId, activities: { evaluateModel: activities.evaluateModel } });
  await ctx.record(
    { stage: step.phase, step: step.name, outcome: verdict.passed ? 'passed' : 'failed', detail: { reason: verdict.reason, ...verdict.detail } },
    STEWARD,
    verdict.report ? { report: verdict.report } : {},
  );
  if (verdict.passed) return null;
  return { endedBy: step.phase === 'scan' ? 'failed-scan' : 'failed-test', reason: `${step.name}: ${verdict.reason}`, actor: STEWARD };
}

/**
 * The test gate by scoring: the candidate (and the champion) scored on the manifest's evaluation dataset on the
 * compute workers. Scoring reads a dataset and loads models, so it may take minutes and heartbeats; a bad
 * dataset or a model the runtime refuses is final. Returns 'declared-metrics' when the manifest names no
 * evaluation dataset and the template lets such a manifest be judged on its declared metrics.
 */
async function scoredTest(ctx: LifecycleContext, step: TestStep, policy: EvaluatePolicy): Promise<Stop | null | 'declared-metrics'> {
  const { manifest } = ctx.input;
  const { min, max } = step.bounds;
  const bounds = { minMetrics: min, ...(Object.keys(max).length > 0 ? { maxMetrics: max } : {}) };
  const fail = async (problem: string): Promise<Stop> => {
    await ctx.record({ stage: 'test', step: step.name, outcome: 'failed', detail: { ...bounds, method: 'scoring', problem } }, STEWARD);
    return { endedBy: 'failed-test', reason: `${step.name}: ${problem}`, actor: STEWARD };
  };
  if (!manifest.evaluation) {
    if (!policy.required) return 'declared-metrics';
    return fail('the template scores candidates, and the manifest names no evaluation dataset (field evaluation)');
  }
  const { evaluateByScoring } = proxyActivities<ReturnType<typeof evaluationActivities>>({
    taskQueue: computeTaskQueue(workflowInfo().taskQueue),
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '2 minutes',
    retry: {
      initialInterval: '5 seconds',
      maximumAttempts: 3,
      nonRetryableErrorTypes: ['EvaluationRefused', 'DatasetProblem', 'UriNotAllowed', 'ArtifactTooLarge', 'ArtifactDigestMismatch', 'DeployRefused'],
    },
  });
  let result: Awaited<ReturnType<typeof evaluateByScoring>>;
  try {
    result = await evaluateByScoring({ modelVersionId: ctx.versionId, manifest, bounds: { min, max }, policy });
  } catch (err) {
    if (!(err instanceof ActivityFailure) || isCancellation(err)) throw err;
    return fail(`scoring could not complete: ${err.cause?.message ?? err.message}`);
  }
  const detail = { ...bounds, method: 'scoring' as const, ...(result.passed ? {} : { failures: result.failures }) };
  await ctx.record({ stage: 'test', step: step.name, outcome: result.passed ? 'passed' : 'failed', detail }, STEWARD, { report: result.report });
  if (result.passed) return null;
  const more = result.failures.length > 1 ? ` (and ${result.failures.length - 1} more)` : '';
  return { endedBy: 'failed-test', reason: `${step.name}: ${result.failures[0] ?? 'the evaluation failed'}${more}`, actor: STEWARD };
}
