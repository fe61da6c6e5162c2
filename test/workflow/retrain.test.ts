import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../core/principal.js';
import { bytesAt, cancelledRuns, training, trainingBehaviour, trainingJobs } from './support/training-doubles.js';
import { observationSignal, retrainSignal } from '../../workflows/messages.js';
import { decision, manifest, people, startLifecycleStack, type Lifecycle, type LifecycleStack } from './support/lifecycle-stack.js';
import { fred, monitoring, sample, window } from './support/monitoring.js';

/**
 * Retraining: on drift (the `watch` template of test/workflow/fixtures/lifecycle.ts) and by hand, each
 * starting the next version as a child lifecycle that carries the lineage and its authors; the parent is
 * superseded when the child deploys. Kept apart from the tests that skip time: child lifecycles live on.
 */
let s: LifecycleStack;
beforeAll(async () => {
  s = await startLifecycleStack({ computeActivities: training });
});
afterEach(() => s.retireLeftovers());
afterAll(() => s?.stop());


describe('retrain on drift', () => {
  it('retrains on drift: the child lifecycle carries the lineage, deploys, and the parent retires superseded', async () => {
    const m = manifest({ template: 'watch' });
    const lifecycle = await monitoring(s, { manifest: m });
    s.fakes.drift(lifecycle.workflowId, { drifted: true, driftedColumns: ['income'] });
    await lifecycle.signal(observationSignal, window({ id: 'w-drift', sample }));
    await s.fakes.transition(lifecycle.workflowId, 'monitor/drift:drifted');
    const childId = `model-version:${m.name}@1.1.0`;
    const retrain = await s.fakes.transition(lifecycle.workflowId, 'retrain:passed');
    const reason = 'feature drift in window w-drift: 1 of 3 columns drifted (income)';
    expect(retrain).toMatchObject({ actor: 'steward', detail: { reason, successor: childId } });

    const result = await s.result(lifecycle);
    expect(result).toEqual({ modelVersionId: lifecycle.modelVersionId, endedBy: 'superseded', reason: `replaced by ${childId}` });
    const [registered] = s.fakes.callsOf('registerVersion', childId);
    expect(registered?.input).toMatchObject({ registeredBy: { id: 'steward' }, lineage: { parentModelVersionId: lifecycle.modelVersionId, reason }, template: 'watch@1' });
    expect(registered?.input.manifest).toMatchObject({ name: m.name, version: '1.1.0', artifacts: m.artifacts });
    const child = s.handle(childId);
    expect(await s.status(child)).toMatchObject({ stage: 'monitor', parentWorkflowId: lifecycle.workflowId });
    expect(s.fakes.path(childId).slice(0, 4)).toEqual(['register:passed', 'test:passed', 'deploy:passed', 'monitor:passed']);
  });
});

describe('retrain by hand', () => {
  it('starts the child with lineage, registered by the requester, with the parent’s registrant among its authors', async () => {
    const m = manifest({ template: 'standard' });
    const lifecycle = await monitoring(s, { manifest: m });
    await lifecycle.signal(retrainSignal, { requestedBy: fred, reason: 'quarterly refresh' });
    const childId = `model-version:${m.name}@1.1.0`;
    expect(await s.fakes.transition(lifecycle.workflowId, 'retrain:passed')).toMatchObject({ actor: 'fred', detail: { reason: 'quarterly refresh', successor: childId } });
    expect((await s.status(lifecycle)).successor).toEqual({ workflowId: childId, version: '1.1.0' });

    const gate = await s.fakes.transition(childId, 'approval:entered');
    expect(gate.detail).toMatchObject({ authors: ['fred', 'erin'] });
    expect(s.fakes.callsOf('registerVersion', childId)[0]?.input).toMatchObject({ registeredBy: fred, lineage: { parentModelVersionId: lifecycle.modelVersionId, reason: 'quarterly refresh' } });
    const child = s.handle(childId);
    // The parent's registrant authored the artifacts the child reuses: never its approver.
    const erinApproves: Principal = { ...people.erin, roles: ['approver:risk'] };
    expect((await s.attempt(child, decision(erinApproves))).verdict).toEqual({ status: 'refused', reason: 'separation-of-duties' });

    // One retrain at a time.
    await lifecycle.signal(retrainSignal, { requestedBy: fred, reason: 'again' });
    const stage = (await s.status(lifecycle)).stage;
    expect((await s.fakes.transition(lifecycle.workflowId, `${stage}/request:refused`)).detail).toMatchObject({ request: 'retrain', reason: 'again' });
  });

  it('records a failed retrain when the next version already exists, and goes on monitoring', async () => {
    const m = manifest({ template: 'standard' });
    const lifecycle = await monitoring(s, { manifest: m });
    const existing = await s.start({ manifest: { ...m, version: '1.1.0' } });
    await s.fakes.transition(existing.workflowId, 'approval:entered');
    await lifecycle.signal(retrainSignal, { requestedBy: fred, reason: 'refresh' });
    expect(await s.fakes.transition(lifecycle.workflowId, 'retrain:failed')).toMatchObject({ actor: 'fred', detail: { problem: `${existing.workflowId} already exists` } });
    // The failure is recorded before the lifecycle re-enters its monitor stage: wait for that, within reason.
    let stage = (await s.status(lifecycle)).stage;
    for (const deadline = Date.now() + 10_000; stage !== 'monitor' && Date.now() < deadline; stage = (await s.status(lifecycle)).stage) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(stage).toBe('monitor');
  });
});


/** Waits (within reason) for a lifecycle that recorded a retrain's end to be back in its monitor loop. */
async function backInMonitor(lifecycle: Lifecycle): Promise<void> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    if ((await s.status(lifecycle)).stage === 'monitor') return;
  }
  throw new Error(`${lifecycle.workflowId} did not return to its monitor stage`);
}

describe('retrain through a training runner', () => {
  it('creates no version when the run fails or reproduces the parent’s bytes; drift within the minimum interval is refused with the reason', async () => {
    const m = manifest({ template: 'trains' });
    const lifecycle = await monitoring(s, { manifest: m });
    trainingBehaviour.set(lifecycle.workflowId, { fails: 'training command exited with code 1: ValueError: no rows' });
    await lifecycle.signal(retrainSignal, { requestedBy: fred, reason: 'try it' });
    const failed = await s.fakes.transition(lifecycle.workflowId, 'retrain/training:failed');
    expect(failed).toMatchObject({ actor: 'fred', detail: { reason: 'try it', problem: 'training command exited with code 1: ValueError: no rows' } });
    await backInMonitor(lifecycle);

    // The same bytes as the parent's: no version either.
    const produces = 'file:///trained/same/model.json';
    bytesAt.set(produces, m.artifacts[0]!.sha256);
    trainingBehaviour.set(lifecycle.workflowId, { produces });
    await lifecycle.signal(retrainSignal, { requestedBy: fred, reason: 'again' });
    const unchanged = await s.fakes.transition(lifecycle.workflowId, 'retrain/training:unchanged');
    expect(unchanged.detail).toMatchObject({ reason: 'again', problem: expect.stringContaining("the parent's bytes again") });
    expect(s.fakes.callsOf('registerVersion', `model-version:${m.name}@1.1.0`)).toEqual([]);
    await backInMonitor(lifecycle);
    expect((await s.status(lifecycle)).successor).toBeNull();

    // Drift right after: the template holds automatic retrains off for 7 days after the last one.
    s.fakes.drift(lifecycle.workflowId, { drifted: true, driftedColumns: ['income'] });
    await lifecycle.signal(observationSignal, window({ id: 'w-too-soon', sample }));
    const refused = await s.fakes.transition(lifecycle.workflowId, 'monitor/request:refused');
    expect(refused).toMatchObject({ actor: 'steward', detail: { request: 'retrain', problem: expect.stringContaining('allows the next one from') } });
    expect(s.fakes.path(lifecycle.workflowId).filter((e) => e === 'retrain/training:entered')).toHaveLength(2);
  }, 120_000);

  it('cancels a training run when the version is retired during it: the process is stopped and the retirement recorded', async () => {
    const m = manifest({ template: 'trains' });
    const lifecycle = await monitoring(s, { manifest: m });
    trainingBehaviour.set(lifecycle.workflowId, { hangs: true });
    await lifecycle.signal(retrainSignal, { requestedBy: fred, reason: 'long run' });
    await s.fakes.transition(lifecycle.workflowId, 'retrain/training:entered');
    // Retire once the command runs (a retire before it starts cancels nothing that runs).
    for (const deadline = Date.now() + 20_000; !trainingJobs.some((j) => j.workflowId === lifecycle.workflowId) && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const result = await s.retire(lifecycle, fred, 'model withdrawn');
    expect(result).toMatchObject({ endedBy: 'retired', reason: 'model withdrawn' });
    expect(await s.fakes.transition(lifecycle.workflowId, 'retrain/training:cancelled')).toMatchObject({ actor: 'fred', detail: { reason: 'retired during training: model withdrawn' } });
    const job = trainingJobs.find((j) => j.workflowId === lifecycle.workflowId)!;
    expect(cancelledRuns).toContain(job.runKey);
    expect(s.fakes.callsOf('registerVersion', `model-version:${m.name}@1.1.0`)).toEqual([]);
  }, 120_000);
});
