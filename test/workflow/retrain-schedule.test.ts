import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DAY, manifest, startLifecycleStack, type LifecycleStack } from './support/lifecycle-stack.js';
import { monitoring } from './support/monitoring.js';
import { training, trainingJobs } from './support/training-doubles.js';

/**
 * A template's retrain schedule (the `trains` template of test/workflow/fixtures/lifecycle.ts: every 30 days,
 * by a training command): the monitor loop wakes when it is due and the child carries what the runner made.
 * A file of its own: it skips a month of server time.
 */
let s: LifecycleStack;
beforeAll(async () => {
  s = await startLifecycleStack({ computeActivities: training });
});
afterEach(() => s.retireLeftovers());
afterAll(() => s?.stop());

describe('scheduled retrain through a training runner', () => {
  it('trains on schedule 30 days after going live; the child carries the trained artifact, metrics, trigger and training data', async () => {
    const m = manifest({ template: 'trains' });
    const lifecycle = await monitoring(s, { manifest: m });
    await s.skip('31 days');
    const entered = await s.fakes.transition(lifecycle.workflowId, 'retrain/training:entered');
    expect(entered).toMatchObject({ actor: 'steward', detail: { runner: 'command', trigger: { kind: 'schedule', everyMs: 30 * DAY } } });
    const trained = await s.fakes.transition(lifecycle.workflowId, 'retrain/training:passed');
    const uri = `file:///trained/${m.name}/1.1.0/model.json`;
    const sha256 = createHash('sha256').update(uri).digest('hex');
    expect(trained.detail).toMatchObject({ artifacts: [{ uri, sha256, name: 'model' }], metrics: { auc: 0.88 }, logDigest: 'e'.repeat(64) });
    const job = trainingJobs.find((j) => j.workflowId === lifecycle.workflowId)!;
    expect(job).toMatchObject({ modelName: m.name, parentVersion: '1.0.0', version: '1.1.0', parentArtifacts: m.artifacts, trigger: { kind: 'schedule' } });

    const childId = `model-version:${m.name}@1.1.0`;
    expect(await s.fakes.transition(lifecycle.workflowId, 'retrain:passed')).toMatchObject({ detail: { successor: childId, trigger: { kind: 'schedule' }, training: { runner: 'command' } } });
    const registered = s.fakes.callsOf('registerVersion', childId)[0]?.input as { manifest: { artifacts: unknown; metrics: unknown; trainingData: unknown }; authors?: unknown };
    expect(registered.manifest).toMatchObject({ artifacts: [{ uri, sha256, name: 'model' }], metrics: { auc: 0.88 }, trainingData: [{ uri: 's3://lake/credit/applications-2026q1.parquet' }] });
    // The lineage in the child's start input (its history): parent, trigger, runner, run and training data.
    const history = await s.handle(childId).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
    const childInput = JSON.parse(Buffer.from(started!).toString()) as { lineage: unknown };
    expect(childInput.lineage).toMatchObject({
      parentModelVersionId: lifecycle.modelVersionId,
      trigger: { kind: 'schedule' },
      training: { runner: 'command', runKey: job.runKey, trainingData: [{ uri: 's3://lake/credit/applications-2026q1.parquet' }], logDigest: 'e'.repeat(64) },
    });
    // New bytes: nobody authored them but the trainer, so the parent's registrant is no author.
    expect(registered.authors).toBeUndefined();
    // The child is judged on the runner's metrics by its own gates, then replaces the parent.
    expect(s.fakes.callsOf('evaluateModel', childId)[0]?.input).toMatchObject({ metrics: { auc: 0.88 } });
    // Awaited on the recorded transition, not by skipping time while the parent cancels its timers (see lifecycle-stack.ts).
    expect(await s.fakes.transition(lifecycle.workflowId, 'retire:completed')).toMatchObject({ detail: { endedBy: 'superseded', reason: `replaced by ${childId}`, lineage: { successor: childId } } });
  }, 180_000);

});
