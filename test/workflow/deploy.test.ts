import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PROBES_PER_PHASE } from '../../workflows/lifecycle/stages/deploy.js';
import { observationSignal, promoteSignal, rollbackSignal } from '../../workflows/messages.js';
import { DAY, decision, manifest, people, startLifecycleStack, type Lifecycle, type LifecycleStack } from './support/lifecycle-stack.js';

/**
 * Deployment: replacing the champion at once, and the high-risk template's three days of shadow and two of
 * canary (skipped), promoted early, rolled back on a breach or when the phase deployment disappears, and
 * retired mid-phase.
 */
let s: LifecycleStack;
beforeAll(async () => {
  s = await startLifecycleStack();
});
afterEach(() => s.retireLeftovers());
afterAll(() => s?.stop());

let windows = 0;
const window = (errors: number, extra: object = {}) => ({
  id: `window-${windows++}`,
  windowStart: '2026-01-01T00:00:00.000Z',
  windowEnd: '2026-01-01T01:00:00.000Z',
  requests: 1000,
  errors,
  kpis: {},
  reportedBy: 'gateway',
  ...extra,
});

/** A high-risk lifecycle approved by two risk approvers, waiting in its shadow phase. */
async function inShadow(): Promise<{ lifecycle: Lifecycle; entered: number }> {
  const lifecycle = await s.start({ manifest: manifest({ template: 'high-risk' }) });
  await s.fakes.transition(lifecycle.workflowId, 'approval:entered');
  await s.attempt(lifecycle, decision(people.ana));
  await s.attempt(lifecycle, decision(people.bo));
  const shadow = await s.fakes.transition(lifecycle.workflowId, 'deploy/shadow:entered');
  return { lifecycle, entered: Date.parse(shadow.at) };
}

const ended = (deploymentId: string) => s.fakes.callsOf('endDeployment').filter((c) => c.input.deploymentId === deploymentId);
/** Each end of a deployment as [reason, kept loaded]: a phase that stops drains (row ended, still loaded), then unloads. */
const endings = (deploymentId: string) => ended(deploymentId).map((c) => [c.input.reason, c.input.keepLoaded ?? false]);
const drained = (reason: string) => [
  [reason, true],
  [reason, false],
];

describe('replace', () => {
  it('makes the version the champion on its target at once', async () => {
    const m = manifest({ template: 'standard' });
    const lifecycle = await s.start({ manifest: m });
    await s.fakes.transition(lifecycle.workflowId, 'approval:entered');
    await s.attempt(lifecycle, decision(people.ana));
    const deployed = await s.fakes.transition(lifecycle.workflowId, 'deploy:passed');
    const [call] = s.fakes.callsOf('deployVersion', lifecycle.workflowId);
    expect(call?.input).toMatchObject({ deploymentId: `${lifecycle.workflowId}/deploy`, modelName: m.name, modelVersionId: lifecycle.modelVersionId, target: 'default' });
    expect(call?.input.strategy).toBeUndefined();
    expect(deployed.detail).toMatchObject({ deploymentId: `${lifecycle.workflowId}/deploy`, target: 'default', strategy: 'replace' });
    await s.fakes.transition(lifecycle.workflowId, 'monitor:passed');
    expect((await s.status(lifecycle)).deployment).toEqual({ deploymentId: `${lifecycle.workflowId}/deploy`, target: 'default', since: deployed.detail.since });
  });
});

describe('shadow and canary phases', () => {
  it('holds each phase for its time, ends it and goes on, then replaces the champion', async () => {
    const { lifecycle, entered } = await inShadow();
    const shadowId = `${lifecycle.workflowId}/deploy/shadow`;
    const shadow = s.fakes.transitions(lifecycle.workflowId).at(-1)!;
    expect(shadow.detail).toMatchObject({ deploymentId: shadowId, strategy: 'shadow', trafficShare: 0, until: new Date(entered + 3 * DAY).toISOString() });
    expect((await s.status(lifecycle)).phase).toEqual({ name: 'shadow', mode: 'shadow', trafficShare: 0, until: new Date(entered + 3 * DAY).toISOString() });

    await s.skip('3 days');
    const promoted = await s.fakes.transition(lifecycle.workflowId, 'deploy/shadow:passed');
    expect(promoted).toMatchObject({ actor: 'steward', detail: { reason: 'hold time elapsed, healthy' } });
    expect(Date.parse(promoted.at) - entered).toBeGreaterThanOrEqual(3 * DAY);
    expect(ended(shadowId).map((c) => c.input)).toMatchObject([{ reason: 'promoted after shadow', keepLoaded: true }]);
    // Probed through the hold (a 3-day hold spreads its 100 probes out) and once more before promotion.
    const probes = s.fakes.callsOf('probeDeployment', lifecycle.workflowId).map((c) => c.input.deploymentId);
    expect(probes).toEqual(Array.from({ length: MAX_PROBES_PER_PHASE }, () => shadowId));

    const canary = await s.fakes.transition(lifecycle.workflowId, 'deploy/canary:entered');
    expect(canary.detail).toMatchObject({ deploymentId: `${lifecycle.workflowId}/deploy/canary`, strategy: 'canary', trafficShare: 0.1 });
    expect((await s.status(lifecycle)).phase).toMatchObject({ name: 'canary', mode: 'canary', trafficShare: 0.1 });
    await s.skip('2 days');
    await s.fakes.transition(lifecycle.workflowId, 'monitor:passed');
    expect(s.fakes.path(lifecycle.workflowId).slice(-6)).toEqual([
      'deploy/shadow:entered',
      'deploy/shadow:passed',
      'deploy/canary:entered',
      'deploy/canary:passed',
      'deploy:passed',
      'monitor:passed',
    ]);
    expect(ended(`${lifecycle.workflowId}/deploy/canary`).map((c) => c.input.reason)).toEqual(['promoted after canary']);
    const status = await s.status(lifecycle);
    expect(status).toMatchObject({ stage: 'monitor', phase: null, deployment: { deploymentId: `${lifecycle.workflowId}/deploy` } });
  });

  it('moves on at once when someone promotes the phase, on their word', async () => {
    const { lifecycle } = await inShadow();
    await lifecycle.signal(promoteSignal, { requestedBy: people.ana, reason: 'shadow answers match the champion' });
    expect(await s.fakes.transition(lifecycle.workflowId, 'deploy/shadow:passed')).toMatchObject({
      actor: 'ana',
      detail: { reason: 'promoted early: shadow answers match the champion' },
    });
    await s.fakes.transition(lifecycle.workflowId, 'deploy/canary:entered');
  });

  it('judges windows observed during a phase and rolls the version back at a breach, leaving the champion alone', async () => {
    const { lifecycle } = await inShadow();
    await lifecycle.signal(observationSignal, window(2));
    expect((await s.fakes.transition(lifecycle.workflowId, 'deploy/observation:passed')).detail).toMatchObject({ phase: 'shadow', requests: 1000, errors: 2, breaches: [] });
    await lifecycle.signal(promoteSignal, { requestedBy: people.ana, reason: 'enough shadow' });
    await s.fakes.transition(lifecycle.workflowId, 'deploy/canary:entered');

    await lifecycle.signal(observationSignal, window(50));
    const result = await s.result(lifecycle);
    expect(result).toEqual({ modelVersionId: lifecycle.modelVersionId, endedBy: 'rolled-back', reason: 'canary: error rate 0.05 > 0.01' });
    expect(s.fakes.path(lifecycle.workflowId).slice(-4)).toEqual(['deploy/canary:entered', 'deploy/observation:breached', 'deploy/canary:failed', 'retire:completed']);
    const failed = s.fakes.transitions(lifecycle.workflowId).at(-2);
    expect(failed?.detail).toEqual({ reason: 'monitor policy breached', breaches: ['error rate 0.05 > 0.01'] });
    expect(endings(`${lifecycle.workflowId}/deploy/canary`)).toEqual(drained('rolled back: error rate 0.05 > 0.01'));
    // The candidate never became the champion.
    expect(s.fakes.callsOf('deployVersion', lifecycle.workflowId).map((c) => c.input.strategy)).toEqual(['shadow', 'canary']);
  });

  it('rolls back when the phase deployment was ended behind the lifecycle’s back', async () => {
    const { lifecycle } = await inShadow();
    s.fakes.endBehindTheBack(`${lifecycle.workflowId}/deploy/shadow`, 'pod evicted by the platform');
    await s.skip('3 days');
    const result = await s.result(lifecycle);
    expect(result).toEqual({ modelVersionId: lifecycle.modelVersionId, endedBy: 'rolled-back', reason: 'shadow: pod evicted by the platform' });
    expect(s.fakes.path(lifecycle.workflowId).slice(-2)).toEqual(['deploy/shadow:failed', 'retire:completed']);
    expect(s.fakes.transitions(lifecycle.workflowId).at(-2)?.detail).toEqual({ reason: 'pod evicted by the platform' });
  });

  it('probes the runtime during the hold and rolls back at the first failed health check', async () => {
    const { lifecycle, entered } = await inShadow();
    const shadowId = `${lifecycle.workflowId}/deploy/shadow`;
    s.fakes.failHealth(shadowId, 'runtime of target default does not serve the model');
    await s.skip('2 hours');
    const result = await s.result(lifecycle);
    expect(result).toEqual({
      modelVersionId: lifecycle.modelVersionId,
      endedBy: 'rolled-back',
      reason: 'shadow: health check failed: runtime of target default does not serve the model',
    });
    const failed = s.fakes.transitions(lifecycle.workflowId).at(-2)!;
    expect(failed).toMatchObject({ step: 'shadow', outcome: 'failed', detail: { reason: 'health check failed: runtime of target default does not serve the model' } });
    // The first probe after the failure caught it: one spread-out interval of a 3-day hold, not the hold's end.
    expect(Date.parse(failed.at) - entered).toBeLessThan((3 * DAY) / MAX_PROBES_PER_PHASE + 60_000);
    expect(endings(shadowId)).toEqual(drained('rolled back: health check failed: runtime of target default does not serve the model'));
    expect(s.fakes.callsOf('deployVersion', lifecycle.workflowId)).toHaveLength(1);
  });

  it('rolls back on request, on the requester’s word, and refuses a rollback when no phase is under way', async () => {
    const { lifecycle } = await inShadow();
    await lifecycle.signal(rollbackSignal, { requestedBy: people.erin, reason: 'wrong feature order' });
    const result = await s.result(lifecycle);
    expect(result).toEqual({ modelVersionId: lifecycle.modelVersionId, endedBy: 'rolled-back', reason: 'shadow: wrong feature order' });
    expect(s.fakes.transitions(lifecycle.workflowId).at(-2)).toMatchObject({ step: 'shadow', outcome: 'failed', actor: 'erin', detail: { reason: 'rolled back on request: wrong feature order' } });
    expect(endings(`${lifecycle.workflowId}/deploy/shadow`)).toEqual(drained('rolled back on request: wrong feature order'));

    const champion = await s.start({ manifest: manifest({ template: 'standard' }) });
    await s.fakes.transition(champion.workflowId, 'approval:entered');
    await s.attempt(champion, decision(people.ana));
    await s.fakes.transition(champion.workflowId, 'monitor:passed');
    await champion.signal(rollbackSignal, { requestedBy: people.erin, reason: 'too late' });
    const refused = await s.fakes.transition(champion.workflowId, 'monitor/request:refused');
    expect(refused).toMatchObject({ actor: 'erin', detail: { request: 'rollback', reason: 'too late', problem: 'no shadow or canary phase is under way (stage monitor)' } });
  });

  it('keeps a rolled-back phase loaded through the gateways’ routing drain, then unloads it', async () => {
    const { lifecycle } = await inShadow();
    const shadowId = `${lifecycle.workflowId}/deploy/shadow`;
    s.fakes.drainMs = 60 * 60_000;
    try {
      await lifecycle.signal(rollbackSignal, { requestedBy: people.erin, reason: 'wrong feature order' });
      await s.fakes.waitFor('the phase row to end', (c) => c.activity === 'endDeployment' && c.input.deploymentId === shadowId);
      await s.skip('30 minutes');
      // Half way through the drain: the row has ended, the version still serves stale routes, nothing recorded yet.
      expect(endings(shadowId)).toEqual([['rolled back on request: wrong feature order', true]]);
      expect(s.fakes.path(lifecycle.workflowId).at(-1)).toBe('deploy/shadow:entered');
      await s.skip('31 minutes');
      await s.fakes.transition(lifecycle.workflowId, 'deploy/shadow:failed');
      expect(endings(shadowId)).toEqual(drained('rolled back on request: wrong feature order'));
    } finally {
      s.fakes.drainMs = 0;
    }
  });

  it('ends the phase deployment and retires when asked to mid-phase', async () => {
    const { lifecycle } = await inShadow();
    const result = await s.retire(lifecycle, people.erin, 'model withdrawn');
    expect(result).toEqual({ modelVersionId: lifecycle.modelVersionId, endedBy: 'retired', reason: 'model withdrawn' });
    expect(endings(`${lifecycle.workflowId}/deploy/shadow`)).toEqual(drained('retired during shadow'));
    expect(s.fakes.path(lifecycle.workflowId).slice(-2)).toEqual(['deploy/shadow:entered', 'retire:completed']);
    expect(s.fakes.transitions(lifecycle.workflowId).at(-1)).toMatchObject({ actor: 'erin', detail: { endedBy: 'retired', reason: 'model withdrawn' } });
  });

  it('refuses a promotion when no phase is under way, on record', async () => {
    const lifecycle = await s.start({ manifest: manifest({ template: 'standard' }) });
    await s.fakes.transition(lifecycle.workflowId, 'approval:entered');
    await s.attempt(lifecycle, decision(people.ana));
    await s.fakes.transition(lifecycle.workflowId, 'monitor:passed');
    await lifecycle.signal(promoteSignal, { requestedBy: people.ana, reason: 'go' });
    expect(await s.fakes.transition(lifecycle.workflowId, 'monitor/request:refused')).toMatchObject({
      actor: 'ana',
      detail: { request: 'promote', problem: 'no shadow or canary phase is under way (stage monitor)' },
    });
  });
});
