import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { labelsSignal, observationSignal } from '../../workflows/messages.js';
import { manifest, startLifecycleStack, type LifecycleStack } from './support/lifecycle-stack.js';
import { monitoring, window } from './support/monitoring.js';

/**
 * Live monitoring under standard@2's policy (5% errors, alerts after three breaching verdicts in a row, a
 * six-hour cooldown, performance and fairness critical, a retrain on critical alerts): each branch of the alert
 * policy, late labels, and drift of gateway windows, with activity doubles on the time-skipping server.
 */
let s: LifecycleStack;
beforeAll(async () => {
  s = await startLifecycleStack();
});
afterEach(() => s.retireLeftovers());
afterAll(() => s?.stop());

const classifier = () => manifest({ template: 'standard@2', outputSchema: [{ name: 'probability', type: 'number' }] });
const breaching = () => window({ errors: 100, kpis: {} }); // 10% errors > 5%
const calm = () => window({ errors: 1, kpis: {} });
const poor = { labelled: 200, metrics: { accuracy: 0.55, rocAuc: 0.6 }, fairness: {} };
const good = { labelled: 200, metrics: { accuracy: 0.9, rocAuc: 0.93 }, fairness: {} };

describe('the alert policy', () => {
  it('alerts only after three breaching windows in a row, as a warning that retrains nothing; a passing window resets the streak', async () => {
    const lifecycle = await monitoring(s, { manifest: classifier() });
    const id = lifecycle.workflowId;
    for (const w of [breaching(), breaching(), calm(), breaching(), breaching()]) await lifecycle.signal(observationSignal, w);
    await s.fakes.transition(id, 'monitor/observation', { nth: 5 });
    await s.fakes.idle(id);
    expect(s.fakes.path(id).filter((p) => p.startsWith('monitor/alert'))).toEqual([]);

    const third = breaching();
    await lifecycle.signal(observationSignal, third);
    const alert = await s.fakes.transition(id, 'monitor/alert:raised');
    expect(alert.detail).toEqual({ window: { id: third.id }, severity: 'warning', streak: 3, kinds: ['errors'], breaches: ['error rate 0.1 > 0.05'], retrain: false });
    // An event for webhooks, besides the recorded transition.
    const event = await s.fakes.waitFor('the monitor.alert event', (c) => c.activity === 'publishEvent' && c.workflowId === id && c.input.type === 'monitor.alert');
    expect(event.input).toMatchObject({ data: { window: third.id, severity: 'warning', streak: 3, retrain: false } });
    await s.fakes.idle(id);
    expect(s.fakes.path(id)).not.toContain('retrain:passed');
    expect((await s.status(lifecycle)).stage).toBe('monitor');
  });

  it('holds a second alert for the six-hour cooldown while the breach goes on, then alerts again', async () => {
    const lifecycle = await monitoring(s, { manifest: classifier() });
    const id = lifecycle.workflowId;
    for (let i = 0; i < 3; i++) await lifecycle.signal(observationSignal, breaching());
    await s.fakes.transition(id, 'monitor/alert:raised');
    await lifecycle.signal(observationSignal, breaching());
    await s.fakes.transition(id, 'monitor/observation', { nth: 4 });
    await s.fakes.idle(id);
    expect(s.fakes.path(id).filter((p) => p === 'monitor/alert:raised')).toHaveLength(1);

    await s.skip('6 hours');
    await lifecycle.signal(observationSignal, breaching());
    const again = await s.fakes.transition(id, 'monitor/alert:raised', { nth: 2 });
    expect(again.detail).toMatchObject({ severity: 'warning', streak: 5 });
  });

  it('a critical alert (performance on labels) starts a retrain under the template’s policy', async () => {
    const lifecycle = await monitoring(s, { manifest: classifier() });
    const id = lifecycle.workflowId;
    s.fakes.performance(id, poor, poor, poor);
    await lifecycle.signal(labelsSignal, { windows: ['gw:a', 'gw:b', 'gw:c'] });
    const alert = await s.fakes.transition(id, 'monitor/alert:raised');
    expect(alert.detail).toMatchObject({ window: { id: 'gw:c' }, severity: 'critical', streak: 3, kinds: ['performance'], retrain: true });
    expect(s.fakes.path(id).filter((p) => p === 'monitor/performance:breached')).toHaveLength(3);
    expect((await s.fakes.transition(id, 'monitor/performance:breached')).detail).toMatchObject({ window: { id: 'gw:a' }, labelled: 200, breaches: ['accuracy 0.55 < 0.7', 'rocAuc 0.6 < 0.7'] });
    const retrain = await s.fakes.transition(id, 'retrain');
    expect(retrain.detail).toMatchObject({ reason: expect.stringMatching(/^critical alert: 3 breaching windows in a row \(performance\)/) });
    // The successor goes through the gates like any version and waits for its approver.
    const successor = (retrain.detail as { successor: string }).successor;
    expect(await s.fakes.transition(successor, 'approval:entered')).toMatchObject({ stage: 'approval' });
    expect(s.fakes.path(successor)).toEqual(['register:passed', 'test:passed', 'scan:passed', 'approval:entered']);
  });
});

describe('labels', () => {
  it('records a late label’s change to its window’s performance, naming the window and what changed', async () => {
    const lifecycle = await monitoring(s, { manifest: classifier() });
    const id = lifecycle.workflowId;
    s.fakes.performance(id, { labelled: 60, metrics: { accuracy: 0.8, rocAuc: 0.85 }, fairness: {} }, { labelled: 120, metrics: { accuracy: 0.75, rocAuc: 0.85 }, fairness: {} });
    await lifecycle.signal(labelsSignal, { windows: ['gw:late'] });
    const first = await s.fakes.transition(id, 'monitor/performance:passed');
    expect(first.detail).not.toHaveProperty('late');
    await lifecycle.signal(labelsSignal, { windows: ['gw:late'] });
    const updated = await s.fakes.transition(id, 'monitor/performance:passed', { nth: 2 });
    expect(updated.detail).toMatchObject({ window: { id: 'gw:late' }, labelled: 120, late: { labelledBefore: 60, changes: { accuracy: { from: 0.8, to: 0.75 } } } });
    expect((updated.detail.late as { changes: object }).changes).not.toHaveProperty('rocAuc');
    expect(s.fakes.callsOf('evaluateWindowLabels', id).map((c) => c.input)).toMatchObject([
      { window: 'gw:late', performance: { task: 'classification', output: 'probability' }, protectedAttributes: ['age_band'] },
      { window: 'gw:late' },
    ]);
  });

  it('measures but does not judge a window with fewer labels than the template needs; good performance breaks a streak', async () => {
    const lifecycle = await monitoring(s, { manifest: classifier() });
    const id = lifecycle.workflowId;
    s.fakes.performance(id, { labelled: 10, metrics: { accuracy: 0.1 }, fairness: {} }, poor, poor, good, poor);
    await lifecycle.signal(labelsSignal, { windows: ['gw:1', 'gw:2', 'gw:3', 'gw:4', 'gw:5'] });
    await s.fakes.transition(id, 'monitor/performance', { nth: 5 });
    await s.fakes.idle(id);
    expect(s.fakes.path(id).filter((p) => p.startsWith('monitor/performance') || p.startsWith('monitor/alert'))).toEqual([
      'monitor/performance:unjudged',
      'monitor/performance:breached',
      'monitor/performance:breached',
      'monitor/performance:passed',
      'monitor/performance:breached',
    ]);
  });
});

describe('gateway windows', () => {
  it('compares a gateway window’s sample and outputs with the reference on the compute queue; stable data raises nothing', async () => {
    const m = classifier();
    const lifecycle = await monitoring(s, { manifest: m });
    const id = lifecycle.workflowId;
    const w = calm();
    await lifecycle.signal(observationSignal, w);
    const drift = await s.fakes.transition(id, 'monitor/drift:passed');
    expect(drift.detail).toMatchObject({ window: { id: w.id }, sample: { uri: `gateway-window:${w.id}` }, drifted: false });
    expect((await s.fakes.transition(id, 'monitor/prediction-drift:passed')).detail).toMatchObject({ window: { id: w.id }, column: 'probability', drifted: false });
    expect(s.fakes.callsOf('detectWindowDrift', id)[0]?.input).toMatchObject({
      window: w.id,
      reference: m.referenceDataset,
      features: { policy: { stattest: 'auto', columnShare: 0.5 } },
      prediction: { output: 'probability', column: 'probability' },
    });
    await s.fakes.idle(id);
    expect(s.fakes.path(id).some((p) => p.startsWith('monitor/alert') || p.startsWith('retrain'))).toBe(false);
  });

  it('feature and prediction drift count as breaches toward an alert', async () => {
    const lifecycle = await monitoring(s, { manifest: classifier() });
    const id = lifecycle.workflowId;
    s.fakes.windowDrift(id, { features: true, prediction: true });
    for (let i = 0; i < 3; i++) await lifecycle.signal(observationSignal, calm());
    const alert = await s.fakes.transition(id, 'monitor/alert:raised');
    expect(alert.detail).toMatchObject({ severity: 'warning', streak: 3, kinds: ['drift', 'prediction-drift'], retrain: false });
    expect((alert.detail.breaches as string[])[0]).toMatch(/^feature drift: 3 of 3 columns/);
  });
});
