import { Context } from '@temporalio/activity';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChallengeMeasurement, ChallengeRequest } from '../../core/challenge.js';
import { MAX_LABEL_CHECKS } from '../../workflows/lifecycle/stages/challenge.js';
import { retrainSignal } from '../../workflows/messages.js';
import { DAY, manifest, startLifecycleStack, type Lifecycle, type LifecycleStack } from './support/lifecycle-stack.js';
import { fred } from './support/monitoring.js';

/**
 * Champion against challenger (the `challenged` template of test/workflow/fixtures/lifecycle.ts: a day of shadow,
 * ROC AUC 0.02 above the champion's on 50 labelled rows, up to 2 more days waiting for labels). The measuring
 * activity is a double answering what each lifecycle's queue says; the rule and the workflow are real.
 */

/** lifecycle workflow id → the measurements its next calls answer, in order (the last one repeats). */
const answers = new Map<string, Omit<ChallengeMeasurement, 'mode' | 'metric' | 'from' | 'to'>[]>();
const requests: { workflowId: string; request: ChallengeRequest }[] = [];
const challengeDoubles = {
  async measureChallenge(request: ChallengeRequest): Promise<ChallengeMeasurement> {
    const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
    requests.push({ workflowId, request });
    const queue = answers.get(workflowId) ?? [];
    // Without an answer: the first version of a model, with no champion to beat.
    const next = (queue.length > 1 ? queue.shift() : queue[0]) ?? { challenger: side(request.challenger.modelVersionId, 0.8, 0), champion: null, windows: 0 };
    return { mode: request.mode, metric: request.policy.metric, from: request.from, to: request.to, ...next };
  },
};
const side = (modelVersionId: string, value: number | null, labelled: number) => ({ modelVersionId, value, labelled, requests: labelled + 5 });

/**
 * A server of its own per test: a retrain's child and its parent both run through days of skipped time, and a
 * server that ran one such pair has been seen to stop skipping time for the next test.
 */
let s: LifecycleStack;
beforeEach(async () => {
  s = await startLifecycleStack({ computeActivities: challengeDoubles });
});
afterEach(async () => {
  try {
    await s.retireLeftovers();
  } finally {
    await s.stop();
  }
});

/** A `challenged` version through its own (uncontested) shadow into monitoring, and a retrain by hand whose child waits in its shadow. */
async function challengerInShadow(): Promise<{ parent: Lifecycle; child: Lifecycle; childVersion: string }> {
  const m = manifest({ template: 'challenged' });
  const parent = await s.start({ manifest: m });
  await s.fakes.transition(parent.workflowId, 'deploy/shadow:entered');
  await s.skip('1 day');
  await s.fakes.transition(parent.workflowId, 'monitor:passed');
  await parent.signal(retrainSignal, { requestedBy: fred, reason: 'new quarter of applications' });
  const child = s.handle(`model-version:${m.name}@1.1.0`);
  // A busy machine may take a while to run the retrain and the child's gates.
  await s.fakes.transition(child.workflowId, 'deploy/shadow:entered', { timeoutMs: 120_000 });
  return { parent, child, childVersion: `${m.name}@1.1.0` };
}

const championOf = (parent: Lifecycle) => parent.modelVersionId;

/**
 * Waits until the lifecycle's run has closed, without collecting its result (which lets the server skip time while
 * other lifecycles still work), so that the leftovers retired after the test are only the running ones.
 */
async function closed(lifecycle: Lifecycle): Promise<void> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    if ((await lifecycle.describe()).status.name !== 'RUNNING') return;
  }
  throw new Error(`${lifecycle.workflowId} still runs`);
}

// Retried on a fresh server: on the time-skipping test server a retrain signal sent right after a day of skipped
// time is now and then never acted on (seen in about one run in ten, never on the real dev server, where
// integration/champion-challenger.test.ts and canary-challenge.test.ts drive the same flow).
describe('champion against challenger', { timeout: 240_000, retry: 2 }, () => {
  it('a first version has nothing to challenge: promoted, and the record says so', async () => {
    const m = manifest({ template: 'challenged' });
    const lifecycle = await s.start({ manifest: m });
    await s.fakes.transition(lifecycle.workflowId, 'deploy/shadow:entered');
    await s.skip('1 day');
    const judged = await s.fakes.transition(lifecycle.workflowId, 'deploy/challenge');
    expect(judged).toMatchObject({ outcome: 'passed', detail: { phase: 'shadow', outcome: 'uncontested', champion: null, metric: 'rocAuc', margin: 0.02 } });
    await s.fakes.transition(lifecycle.workflowId, 'monitor:passed');
    expect(s.fakes.path(lifecycle.workflowId)).toContain('deploy:passed');
  });

  it('a challenger that beats the champion by the margin on the shadow’s labelled rows is promoted; the champion retires superseded', async () => {
    const { parent, child } = await challengerInShadow();
    answers.set(child.workflowId, [{ challenger: side(child.modelVersionId, 0.83, 240), champion: side(championOf(parent), 0.78, 240), windows: 12 }]);
    const entered = s.fakes.transitions(child.workflowId).find((t) => t.step === 'shadow' && t.outcome === 'entered')!;
    await s.skip('1 day');
    const judged = await s.fakes.transition(child.workflowId, 'deploy/challenge');
    expect(judged.outcome).toBe('passed');
    expect(judged.detail).toMatchObject({
      phase: 'shadow',
      outcome: 'won',
      mode: 'shadow',
      metric: 'rocAuc',
      margin: 0.02,
      minLabelled: 50,
      challenger: { value: 0.83, labelled: 240 },
      champion: { modelVersionId: parent.modelVersionId, value: 0.78, labelled: 240 },
    });
    expect(judged.detail.improvement).toBeCloseTo(0.05, 10);
    expect(judged.detail.reason).toBe("challenger won on rocAuc 0.83 against the champion's 0.78 (margin: higher by at least 0.02; 240 labelled rows both answered)");
    // Measured over the phase: its deployment, from when it went in.
    const [asked] = requests.filter((r) => r.workflowId === child.workflowId);
    expect(asked?.request).toMatchObject({
      mode: 'shadow',
      challenger: { modelVersionId: child.modelVersionId, deploymentId: `${child.workflowId}/deploy/shadow` },
      from: entered.detail.since,
      policy: { metric: 'rocAuc', task: 'classification', output: 'default_probability', threshold: 0.5 },
    });
    expect(Date.parse(asked!.request.to) - Date.parse(asked!.request.from)).toBeGreaterThanOrEqual(DAY);
    // The computation ran on the compute queue.
    const promoted = await s.fakes.transition(child.workflowId, 'deploy/shadow:passed');
    expect(promoted.detail.reason).toMatch(/^hold time elapsed, healthy; challenger won on rocAuc 0.83/);
    await s.fakes.transition(child.workflowId, 'deploy:passed');
    const retired = await s.fakes.transition(parent.workflowId, 'retire:completed');
    expect(retired.detail).toMatchObject({ endedBy: 'superseded', reason: `replaced by ${child.workflowId}` });
    await closed(parent);
  });

  it('a challenger that falls short of the margin retires with the metric, both values and the margin; the champion keeps serving, back in its monitor stage', async () => {
    const { parent, child } = await challengerInShadow();
    answers.set(child.workflowId, [{ challenger: side(child.modelVersionId, 0.79, 240), champion: side(championOf(parent), 0.78, 240), windows: 12 }]);
    await s.skip('1 day');
    const judged = await s.fakes.transition(child.workflowId, 'deploy/challenge');
    expect(judged).toMatchObject({ outcome: 'failed', detail: { outcome: 'lost', challenger: { value: 0.79 }, champion: { value: 0.78 }, margin: 0.02 } });
    const reason = "shadow: challenger lost on rocAuc 0.79 against the champion's 0.78 (needed higher by at least 0.02; 240 labelled rows both answered)";
    const retired = await s.fakes.transition(child.workflowId, 'retire:completed');
    expect(retired).toMatchObject({ actor: 'steward', detail: { endedBy: 'retired', reason } });
    await closed(child);
    expect(s.fakes.path(child.workflowId).slice(-4)).toEqual(['deploy/shadow:entered', 'deploy/challenge:failed', 'deploy/shadow:failed', 'retire:completed']);
    // The phase deployment ended and unloaded; the child never became the champion.
    expect(s.fakes.callsOf('endDeployment', child.workflowId).map((c) => c.input)).toEqual([
      expect.objectContaining({ deploymentId: `${child.workflowId}/deploy/shadow`, reason: `retired: ${reason}`, keepLoaded: true }),
      expect.objectContaining({ deploymentId: `${child.workflowId}/deploy/shadow`, reason: `retired: ${reason}` }),
    ]);
    expect(s.fakes.callsOf('deployVersion', child.workflowId).map((c) => c.input.strategy)).toEqual(['shadow']);
    // The champion: untouched, told why, and free to retrain again.
    const told = await s.fakes.transition(parent.workflowId, 'monitor/successor:failed');
    expect(told.detail).toEqual({ reason, successor: child.workflowId });
    expect(s.fakes.callsOf('endDeployment', parent.workflowId).map((c) => c.input)).toEqual([expect.objectContaining({ deploymentId: `${parent.workflowId}/deploy/shadow`, keepLoaded: true })]);
    expect(s.fakes.deployments.get(`${parent.workflowId}/deploy`)?.ended).toBeNull();
    expect(await s.status(parent)).toMatchObject({ stage: 'monitor', successor: null, deployment: { deploymentId: `${parent.workflowId}/deploy` } });
    // The loser keeps its version number; the next retrain numbers past it.
    await parent.signal(retrainSignal, { requestedBy: fred, reason: 'another try' });
    const next = await s.fakes.transition(parent.workflowId, 'retrain:passed', { nth: 2, timeoutMs: 60_000 });
    expect(next.detail).toMatchObject({ reason: 'another try', successor: child.workflowId.replace('@1.1.0', '@1.2.0') });
  });

  it('too few labelled rows extend the hold, measured at most ten more times; labels that arrive in time get it judged', async () => {
    const { parent, child } = await challengerInShadow();
    const few = { challenger: side(child.modelVersionId, 0.9, 12), champion: side(championOf(parent), 0.7, 14), windows: 3 };
    answers.set(child.workflowId, [few, few, { challenger: side(child.modelVersionId, 0.84, 60), champion: side(championOf(parent), 0.8, 60), windows: 5 }]);
    await s.skip('1 day');
    const extended = await s.fakes.transition(child.workflowId, 'deploy/challenge:unjudged');
    expect(extended.detail).toMatchObject({ outcome: 'unjudged', challenger: { labelled: 12 }, champion: { labelled: 14 }, reason: 'too few labelled rows to compare rocAuc: challenger 12, champion 14, 50 needed on each side' });
    expect(Date.parse(String(extended.detail.extendedUntil)) - Date.parse(extended.at)).toBe(2 * DAY);
    expect((await s.status(child)).phase).toMatchObject({ name: 'shadow', until: expect.any(String) });
    await s.skip('10 hours');
    const judged = await s.fakes.transition(child.workflowId, 'deploy/challenge:passed');
    expect(judged.detail).toMatchObject({ outcome: 'won', challenger: { labelled: 60 }, champion: { labelled: 60 } });
    expect(requests.filter((r) => r.workflowId === child.workflowId)).toHaveLength(3);
    await s.fakes.transition(child.workflowId, 'deploy:passed');
  });

  it('still too few labels when the extension runs out: retired unjudged, saying so, and the champion keeps serving', async () => {
    const { parent, child } = await challengerInShadow();
    answers.set(child.workflowId, [{ challenger: side(child.modelVersionId, 0.9, 12), champion: side(championOf(parent), 0.7, 14), windows: 3 }]);
    await s.skip('3 days');
    const reason = 'shadow: not judged: too few labelled rows to compare rocAuc: challenger 12, champion 14, 50 needed on each side';
    const retired = await s.fakes.transition(child.workflowId, 'retire:completed');
    expect(retired.detail).toMatchObject({ endedBy: 'retired', reason });
    await closed(child);
    const records = s.fakes.transitions(child.workflowId).filter((t) => t.step === 'challenge');
    expect(records.map((t) => t.outcome)).toEqual(['unjudged', 'unjudged']);
    expect(records[1]!.detail).not.toHaveProperty('extendedUntil');
    // Bounded history: the first measurement, then at most ten during the two-day wait.
    const measured = requests.filter((r) => r.workflowId === child.workflowId).length;
    expect(measured).toBeGreaterThan(2);
    expect(measured).toBeLessThanOrEqual(1 + MAX_LABEL_CHECKS);
    const [entered, done] = [s.fakes.transitions(child.workflowId).find((t) => t.step === 'shadow')!, records[1]!];
    expect(Date.parse(done.at) - Date.parse(entered.at)).toBeGreaterThanOrEqual(3 * DAY);
    expect(await s.fakes.transition(parent.workflowId, 'monitor/successor:failed')).toMatchObject({ detail: { reason } });
    expect(s.fakes.deployments.get(`${parent.workflowId}/deploy`)?.ended).toBeNull();
  });
});
