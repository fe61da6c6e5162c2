import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { labelsSignal, observationSignal, retrainSignal } from '../../workflows/messages.js';
import { manifest, startLifecycleStack, type LifecycleStack } from './support/lifecycle-stack.js';
import { fred, monitoring, sample, window } from './support/monitoring.js';

/**
 * One retrain path: drift, an alert and a person each ask through `requestRetrain`, and the child's
 * registration carries the trigger that asked (with its evidence) to the catalog, whether or not a runner
 * trained it. Activity doubles on the time-skipping server.
 */
let s: LifecycleStack;
beforeAll(async () => {
  s = await startLifecycleStack();
});
afterEach(() => s.retireLeftovers());
afterAll(() => s?.stop());

const childOf = (name: string) => `model-version:${name}@1.1.0`;
const registeredLineage = (childId: string) => s.fakes.callsOf('registerVersion', childId)[0]?.input.lineage;

describe('one retrain path', () => {
  it('a drifted window asks with its drift as trigger: window and drifted columns reach the child’s registration', async () => {
    const m = manifest({ template: 'watch' });
    const lifecycle = await monitoring(s, { manifest: m });
    s.fakes.drift(lifecycle.workflowId, { drifted: true, driftedColumns: ['income'] });
    await lifecycle.signal(observationSignal, window({ id: 'w-drift', sample }));
    await s.fakes.transition(lifecycle.workflowId, 'retrain:passed');
    await s.fakes.transition(childOf(m.name), 'register:passed');
    expect(registeredLineage(childOf(m.name))).toEqual({
      parentWorkflowId: lifecycle.workflowId,
      parentModelVersionId: lifecycle.modelVersionId,
      reason: 'feature drift in window w-drift: 1 of 3 columns drifted (income)',
      trigger: { kind: 'drift', window: 'w-drift', driftedColumns: ['income'] },
    });
  });

  it('a critical alert asks with the alert as trigger (severity, breaches, window), not the last drift verdict', async () => {
    const m = manifest({ template: 'standard@2', outputSchema: [{ name: 'probability', type: 'number' }] });
    const lifecycle = await monitoring(s, { manifest: m });
    const id = lifecycle.workflowId;
    const poor = { labelled: 200, metrics: { accuracy: 0.55, rocAuc: 0.6 }, fairness: {} };
    s.fakes.performance(id, poor, poor, poor);
    await lifecycle.signal(labelsSignal, { windows: ['gw:a', 'gw:b', 'gw:c'] });
    expect((await s.fakes.transition(id, 'monitor/alert:raised')).detail).toMatchObject({ severity: 'critical', retrain: true });
    await s.fakes.transition(id, 'retrain:passed');
    await s.fakes.transition(childOf(m.name), 'register:passed');
    expect(registeredLineage(childOf(m.name))).toMatchObject({
      parentModelVersionId: lifecycle.modelVersionId,
      reason: expect.stringMatching(/^critical alert: 3 breaching windows in a row \(performance\)/),
      trigger: { kind: 'alert', severity: 'critical', window: 'gw:c', breaches: ['accuracy 0.55 < 0.7', 'rocAuc 0.6 < 0.7'] },
    });
  });

  it('a person’s request is manual, and a second one while the first is queued or running is refused with the reason', async () => {
    const m = manifest({ template: 'standard' });
    const lifecycle = await monitoring(s, { manifest: m });
    await lifecycle.signal(retrainSignal, { requestedBy: fred, reason: 'quarterly refresh' });
    await s.fakes.transition(lifecycle.workflowId, 'retrain:passed');
    await lifecycle.signal(retrainSignal, { requestedBy: fred, reason: 'again' });
    const stage = (await s.status(lifecycle)).stage;
    expect((await s.fakes.transition(lifecycle.workflowId, `${stage}/request:refused`)).detail).toMatchObject({ request: 'retrain', reason: 'again' });
    await s.fakes.transition(childOf(m.name), 'register:passed');
    expect(registeredLineage(childOf(m.name))).toEqual({
      parentWorkflowId: lifecycle.workflowId,
      parentModelVersionId: lifecycle.modelVersionId,
      reason: 'quarterly refresh',
      trigger: { kind: 'manual' },
    });
  });
});
