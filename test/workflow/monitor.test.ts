import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { observationSignal, supersededSignal } from '../../workflows/messages.js';
import { DAY, manifest, policyWith, startLifecycleStack, type LifecycleStack } from './support/lifecycle-stack.js';
import { fred, monitoring, sample, window } from './support/monitoring.js';

/**
 * The monitor loop and retirement: windows and drift judged, supersession, continue-as-new with its state
 * carried, template migration,
 * retirement on request and at the end of a one-year lifetime (skipped in milliseconds). Templates from
 * test/workflow/fixtures/lifecycle.ts: `watch` (hourly, three cycles a run, retrain on drift), `migrating`
 * (v1 → v2 at continue-as-new), `yearly` (retired a year after deployment).
 */
let s: LifecycleStack;
beforeAll(async () => {
  s = await startLifecycleStack();
});
afterEach(() => s.retireLeftovers());
afterAll(() => s?.stop());


describe('windows', () => {
  it('judges each observed window against the template’s KPIs and error rate; a breach is recorded and the version keeps serving', async () => {
    const lifecycle = await monitoring(s, { manifest: manifest({ template: 'watch' }) });
    const calm = window();
    await lifecycle.signal(observationSignal, calm);
    expect((await s.fakes.transition(lifecycle.workflowId, 'monitor/observation:passed')).detail).toMatchObject({
      window: { id: calm.id, start: calm.windowStart, end: calm.windowEnd, reportedBy: 'gateway' },
      requests: 1000,
      errors: 10,
      kpis: { approvalRate: 0.5 },
      breaches: [],
    });
    await lifecycle.signal(observationSignal, window({ kpis: { approvalRate: 0.95 }, errors: 80 }));
    expect((await s.fakes.transition(lifecycle.workflowId, 'monitor/observation:breached')).detail).toMatchObject({ breaches: ['error rate 0.08 > 0.05', 'approvalRate 0.95 > 0.8'] });
    expect((await s.status(lifecycle)).stage).toBe('monitor');
    // A window reported twice (a retried request) is judged once.
    await lifecycle.signal(observationSignal, calm);
    await lifecycle.signal(observationSignal, window());
    await s.fakes.transition(lifecycle.workflowId, 'monitor/observation:passed', { nth: 2 });
    expect(s.fakes.transitions(lifecycle.workflowId).filter((t) => t.step === 'observation')).toHaveLength(3);
  });
});

describe('drift', () => {
  it('compares a window’s sample with the reference on the compute queue and records the verdict', async () => {
    const m = manifest({ template: 'watch' });
    const lifecycle = await monitoring(s, { manifest: m });
    await lifecycle.signal(observationSignal, window({ id: 'w-calm', sample }));
    const drift = await s.fakes.transition(lifecycle.workflowId, 'monitor/drift:passed');
    expect(drift.detail).toMatchObject({ window: { id: 'w-calm' }, sample, drifted: false, columnsCompared: 3, driftedColumns: [] });
    expect(drift.report).toMatchObject({ kind: 'drift' });
    expect(s.fakes.callsOf('detectDrift', lifecycle.workflowId)[0]?.input).toMatchObject({
      modelVersionId: lifecycle.modelVersionId,
      window: 'w-calm',
      reference: m.referenceDataset,
      sample,
      columns: [
        { name: 'income', kind: 'numerical' },
        { name: 'debt_to_income', kind: 'numerical' },
        { name: 'age_band', kind: 'categorical' },
      ],
      policy: { stattest: 'auto', columnShare: 0.5 },
    });
    expect((await s.status(lifecycle)).drift).toMatchObject({ watched: true, last: { window: 'w-calm', outcome: 'passed', share: 0 } });
  });

  it('records a drift check that cannot be done as failed, naming the problem, without retraining', async () => {
    const lifecycle = await monitoring(s, { manifest: manifest({ template: 'watch' }) });
    s.fakes.drift(lifecycle.workflowId, { problem: 'column income: "n/a" is not a number (row 12)' });
    await lifecycle.signal(observationSignal, window({ sample }));
    expect((await s.fakes.transition(lifecycle.workflowId, 'monitor/drift:failed')).detail).toMatchObject({ problem: 'column income: "n/a" is not a number (row 12)' });
    expect((await s.status(lifecycle)).drift.last).toMatchObject({ outcome: 'failed', share: null });
    expect(s.fakes.callsOf('detectDrift', lifecycle.workflowId)).toHaveLength(1);
    expect(s.fakes.path(lifecycle.workflowId)).not.toContain('retrain:passed');
  });

});

describe('the version leaves production', () => {
  it('retires superseded on its successor’s notice, ending its deployment', async () => {
    const lifecycle = await monitoring(s, { manifest: manifest({ template: 'watch' }) });
    await lifecycle.signal(supersededSignal, { successorWorkflowId: 'model-version:other@2.0.0', successorVersion: '2.0.0' });
    expect(await s.result(lifecycle)).toMatchObject({ endedBy: 'superseded', reason: 'replaced by model-version:other@2.0.0' });
    // The row ends with the version still loaded; once the gateways' drain has passed it is unloaded.
    const ends = s.fakes.callsOf('endDeployment', lifecycle.workflowId).map((c) => c.input);
    expect(ends).toMatchObject([
      { deploymentId: `${lifecycle.workflowId}/deploy`, reason: 'replaced by model-version:other@2.0.0', keepLoaded: true },
      { deploymentId: `${lifecycle.workflowId}/deploy`, reason: 'replaced by model-version:other@2.0.0' },
    ]);
    expect(ends[1]!.keepLoaded).toBeUndefined();
  });

  it('retires when a monitor cycle finds its deployment ended behind its back', async () => {
    const lifecycle = await monitoring(s, { manifest: manifest({ template: 'watch' }) });
    s.fakes.endBehindTheBack(`${lifecycle.workflowId}/deploy`, 'replaced by vendor-score@3.1.0');
    await s.skip('1 hour');
    expect(await s.result(lifecycle)).toMatchObject({ endedBy: 'superseded', reason: 'replaced by vendor-score@3.1.0' });
    expect(s.fakes.callsOf('probeDeployment', lifecycle.workflowId).length).toBeGreaterThanOrEqual(1);
  });

  it('retires on request, ending its deployment, on the requester’s word', async () => {
    const lifecycle = await monitoring(s, { manifest: manifest({ template: 'watch' }) });
    expect(await s.retire(lifecycle, fred, 'replaced by a rules engine')).toMatchObject({ endedBy: 'retired', reason: 'replaced by a rules engine' });
    expect(s.fakes.transitions(lifecycle.workflowId).at(-1)).toMatchObject({ stage: 'retire', outcome: 'completed', actor: 'fred', detail: { endedBy: 'retired', reason: 'replaced by a rules engine' } });
    expect(s.fakes.callsOf('endDeployment', lifecycle.workflowId).map((c) => [c.input.reason, c.input.keepLoaded ?? false])).toEqual([
      ['replaced by a rules engine', true],
      ['replaced by a rules engine', false],
    ]);
  });

  it('reaches its end of life one year after deployment, skipped in milliseconds', async () => {
    const started = Date.now();
    const lifecycle = await monitoring(s, { manifest: manifest({ template: 'yearly' }) });
    const since = Date.parse((await s.status(lifecycle)).deployment!.since);
    const result = await s.result(lifecycle);
    expect(result).toEqual({ modelVersionId: lifecycle.modelVersionId, endedBy: 'end-of-life', reason: `reached the template's maximum lifetime (${365 * DAY} ms in production)` });
    const retired = s.fakes.transitions(lifecycle.workflowId).at(-1)!;
    expect(retired).toMatchObject({ stage: 'retire', outcome: 'completed', actor: 'steward' });
    const lived = Date.parse(retired.at) - since;
    expect(lived).toBeGreaterThanOrEqual(365 * DAY);
    expect(lived).toBeLessThan(365 * DAY + 60_000);
    // Checked monthly on the way: twelve probes in 360 days, then the last five days to the end.
    expect(s.fakes.callsOf('probeDeployment', lifecycle.workflowId)).toHaveLength(12);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe('continue-as-new', () => {
  it('starts a new run after cyclesPerRun, carrying cycles, approvals, deployment, drift and the transition count', async () => {
    const lifecycle = await monitoring(s, { manifest: manifest({ template: 'watch' }) });
    await lifecycle.signal(observationSignal, window({ id: 'w-before', sample }));
    await s.fakes.transition(lifecycle.workflowId, 'monitor/drift:passed');
    const before = await s.status(lifecycle);
    const firstRun = (await lifecycle.describe()).runId;
    const lastSeq = Math.max(...s.fakes.transitions(lifecycle.workflowId).map((t) => t.seq));

    await s.skip('3 hours');
    await s.fakes.waitFor('the third probe', () => s.fakes.callsOf('probeDeployment', lifecycle.workflowId).length === 3);
    await s.skip('1 hour');
    await s.fakes.waitFor('the fourth probe, in the next run', () => s.fakes.callsOf('probeDeployment', lifecycle.workflowId).length === 4);
    const after = await s.status(lifecycle);
    expect((await lifecycle.describe()).runId).not.toBe(firstRun);
    expect(after).toMatchObject({ run: 2, stage: 'monitor', monitorCycles: 4, deployment: before.deployment, drift: before.drift, approvals: before.approvals });

    // The next transition continues the numbering of the first run.
    await lifecycle.signal(observationSignal, window());
    expect((await s.fakes.transition(lifecycle.workflowId, 'monitor/observation:passed', { nth: 2 })).seq).toBe(lastSeq + 1);
  });

  it('carries the approvals of the gate into the next run', async () => {
    const policy = { ...policyWith({}), monitor: { intervalMs: DAY, cyclesPerRun: 2 } };
    const lifecycle = await monitoring(s, { manifest: manifest(), policy });
    await s.skip('2 days');
    await s.skip('1 day');
    await s.fakes.waitFor('a probe in the next run', () => s.fakes.callsOf('probeDeployment', lifecycle.workflowId).length === 3);
    const status = await s.status(lifecycle);
    expect(status.run).toBe(2);
    expect(status.approvals.map((a) => [a.request.principal.id, a.verdict.status])).toEqual([['ana', 'accepted']]);
  });

  it('judges a window retried after continue-as-new once', async () => {
    const lifecycle = await monitoring(s, { manifest: manifest({ template: 'watch' }) });
    const reported = window({ id: 'w-retried' });
    await lifecycle.signal(observationSignal, reported);
    await s.fakes.transition(lifecycle.workflowId, 'monitor/observation:passed');
    await s.skip('4 hours');
    await s.fakes.waitFor('a probe in the next run', () => s.fakes.callsOf('probeDeployment', lifecycle.workflowId).length === 4);
    expect((await s.status(lifecycle)).run).toBe(2);
    await lifecycle.signal(observationSignal, reported);
    await lifecycle.signal(observationSignal, window({ id: 'w-new' }));
    await s.fakes.transition(lifecycle.workflowId, 'monitor/observation:passed', { nth: 2 });
    expect(s.fakes.transitions(lifecycle.workflowId).filter((t) => t.step === 'observation').map((t) => (t.detail.window as { id: string }).id)).toEqual(['w-retried', 'w-new']);
  });

  it('moves to the template version that migrates from its own at continue-as-new, with windows that arrived meanwhile', async () => {
    const lifecycle = await monitoring(s, { manifest: manifest({ template: 'migrating' }) });
    expect((await s.status(lifecycle)).template).toBe('migrating@1');
    const held = s.fakes.hold('the migration record', (c) => c.activity === 'recordStage' && c.workflowId === lifecycle.workflowId && c.input.outcome === 'migrated');
    await s.skip('2 hours');
    const migrated = await held.reached;
    expect(migrated.input).toMatchObject({ stage: 'monitor', step: 'template', detail: { from: 'migrating@1', to: 'migrating@2' } });
    // A window that arrives while the run hands over is judged by the next run.
    await lifecycle.signal(observationSignal, window({ id: 'w-handover' }));
    held.release();
    const judged = await s.fakes.transition(lifecycle.workflowId, 'monitor/observation:passed');
    expect(judged.detail).toMatchObject({ window: { id: 'w-handover' } });
    const status = await s.status(lifecycle);
    expect(status).toMatchObject({ template: 'migrating@2', run: 2 });
    // v2 probes every 30 minutes.
    const probes = s.fakes.callsOf('probeDeployment', lifecycle.workflowId).length;
    await s.skip('30 minutes');
    await s.fakes.waitFor('a probe 30 minutes into v2', () => s.fakes.callsOf('probeDeployment', lifecycle.workflowId).length === probes + 1);
  });
});
