import { condition, defineSignal, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { ModelManifest } from '../core/manifest.js';
import { SA_STAGE } from '../core/search-attributes.js';
import type { BareActivities } from './engine-bare-activities.js';

/**
 * The baseline of `npm run bench:engine`: the same lifecycle as Steward's inline policy (register → test →
 * scan → approval → deploy → monitor) written as a plain Temporal workflow. It makes the same activity calls in
 * the same order (a version row, a transition row after every stage, the attempt row from the signal handler,
 * the same evaluation, scan and runtime load), upserts the same stage search attribute, and waits for the same
 * approval signal; it has no templates, no separation-of-duties judgement and no record-keeping beyond a row.
 */
export interface BareInput {
  readonly id: string;
  readonly manifest: ModelManifest;
  readonly minMetrics: Record<string, number>;
}

export const bareApprovalSignal = defineSignal<[{ attemptId: string; decision: 'approve' | 'reject'; principal: { id: string } }]>('approval');

const a = proxyActivities<BareActivities>({ startToCloseTimeout: '15 seconds', retry: { initialInterval: '1 second', maximumInterval: '1 minute' } });
const scan = proxyActivities<BareActivities>({ startToCloseTimeout: '30 minutes', heartbeatTimeout: '1 minute', retry: { maximumAttempts: 3 } });
const runtime = proxyActivities<BareActivities>({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '30 seconds', retry: { maximumAttempts: 8 } });

export async function bareLifecycle(input: BareInput): Promise<void> {
  const { id } = input;
  let seq = 0;
  let stage = 'register';
  let approved: string | null = null;
  let attempts = 0;
  const enter = (next: string) => {
    stage = next;
    upsertSearchAttributes([{ key: SA_STAGE, value: next }]);
  };
  const record = (outcome: string, detail: Record<string, unknown> = {}) => a.recordStage({ id, seq: ++seq, stage, outcome, detail });
  setHandler(bareApprovalSignal, async (request) => {
    attempts += 1;
    if (stage === 'approval' && request.decision === 'approve') approved = request.principal.id;
    await a.recordApprovalAttempt({ id, seq: attempts, principal: request.principal.id, decision: request.decision, stage });
  });

  enter('register');
  await a.registerVersion({ id, manifest: input.manifest });
  await record('passed');
  enter('test');
  const tested = await a.evaluateModel({ modelVersionId: id, metrics: input.manifest.metrics, minMetrics: input.minMetrics });
  await record(tested.passed ? 'passed' : 'failed', { report: tested.report.digest });
  enter('scan');
  const scanned = await scan.scanArtifacts({ modelVersionId: id, artifacts: input.manifest.artifacts });
  await record('passed', { maxSeverity: scanned.maxSeverity });
  enter('approval');
  await record('entered');
  await condition(() => approved !== null);
  await record('passed', { by: approved });
  enter('deploy');
  const deployed = await runtime.deployVersion({ deploymentId: `${id}/deploy`, modelVersionId: id, manifest: input.manifest });
  await record('passed', deployed);
  enter('monitor');
  await record('passed');
  // Serving: waits as Steward's monitor loop does between cycles (the bench never reaches a cycle).
  await condition(() => false, '1 hour');
}
