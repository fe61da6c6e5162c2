import { describe, expect, it } from 'vitest';
import { NO_ALERTS, stepAlerts, type AlertPolicy, type AlertState, type BreachKind } from '../../core/alerts.js';
import { judgePerformance } from '../../core/live-monitoring.js';
import { manifestSchema, type ManifestInput, type ModelManifest } from '../../core/manifest.js';
import { judgeWindow } from '../../core/observation.js';
import { templates } from '../../templates/index.js';
import { defineTemplate, stage, TemplateRegistry } from '../../workflows/dsl/index.js';

const manifest = (overrides: Partial<ManifestInput> = {}): ModelManifest =>
  manifestSchema.parse({
    name: 'credit-score',
    version: '1.0.0',
    owner: 'erin',
    team: 'credit-risk',
    kind: 'ml',
    framework: 'onnx',
    riskTier: 'medium',
    artifacts: [{ uri: 'file:///m.onnx', sha256: 'a'.repeat(64) }],
    inputSchema: [{ name: 'income', type: 'number' }, { name: 'age_band', type: 'category', categories: ['young', 'old'] }],
    outputSchema: [{ name: 'label', type: 'integer' }, { name: 'probability', type: 'number' }],
    referenceDataset: { uri: 'file:///ref.csv' },
    protectedAttributes: ['age_band'],
    ...overrides,
  });

describe('standard@2 and high-risk@2', () => {
  it('standard@2 is what a bare "standard" registers under now', () => {
    expect(templates.resolve('standard').ref).toBe('standard@2');
    expect(templates.resolve('high-risk').ref).toBe('high-risk@2');
  });

  it('a window with 30% errors passes standard@1 and breaches standard@2', () => {
    const window = { requests: 1000, errors: 300, kpis: {}, latencyMs: { p50: 20, p95: 80, p99: 120 } };
    expect(judgeWindow(window, templates.plan('standard@1', manifest()).monitor).breaches).toEqual([]);
    expect(judgeWindow(window, templates.plan('standard@2', manifest()).monitor).breaches).toEqual(['error rate 0.3 > 0.05']);
  });

  it('holds the gateway latency percentiles to the template ceilings', () => {
    const monitor = templates.plan('high-risk@2', manifest()).monitor;
    const slow = { requests: 100, errors: 0, kpis: {}, latencyMs: { p50: 90, p95: 700, p99: 1900 } };
    expect(judgeWindow(slow, monitor).breaches).toEqual(['latency p95 700 ms > 500 ms']);
    // A window without latencies (all failed, or a shadow) is not judged on them.
    expect(judgeWindow({ requests: 100, errors: 0, kpis: {} }, monitor).breaches).toEqual([]);
  });

  it('watches performance, fairness and prediction drift on a classifier that scores with "probability", with an alert policy', () => {
    const standard = templates.plan('standard@2', manifest()).monitor;
    expect(standard.performance).toMatchObject({ task: 'classification', output: 'probability', min: { accuracy: 0.7, rocAuc: 0.7 } });
    expect(standard.fairness).toMatchObject({ max: { demographicParityDifference: 0.1 } });
    expect(standard.predictionDrift).toMatchObject({ output: 'probability', column: 'probability', stattest: 'auto' });
    expect(standard.alerts).toEqual({ consecutive: 3, cooldownMs: 6 * 3_600_000, critical: ['performance', 'fairness'], retrainAt: 'critical' });
    const high = templates.plan('high-risk@2', manifest()).monitor;
    expect(high.alerts).toMatchObject({ consecutive: 2, critical: expect.arrayContaining(['drift', 'prediction-drift']) });
    // A model without a score output or a reference has nothing to judge them on.
    const plain = templates.plan('standard@2', manifest({ outputSchema: [{ name: 'y', type: 'number' }], referenceDataset: undefined })).monitor;
    expect([plain.performance, plain.fairness, plain.predictionDrift]).toEqual([undefined, undefined, undefined]);
  });

  it('a released template without live settings plans exactly as before', () => {
    expect(Object.keys(templates.plan('standard@1', manifest()).monitor).sort()).toEqual(['cyclesPerRun', 'drift', 'intervalMs', 'kpis', 'maxErrorRate']);
  });

  it('refuses a performance metric that does not fit the task, naming it', () => {
    const t = defineTemplate({
      name: 'bad',
      version: 1,
      description: '',
      lifecycle: () => ({ gates: [], monitor: stage.monitor({ every: '1h', performance: { task: 'regression', output: 'y', min: { accuracy: 0.9 } } }) }),
    });
    expect(() => new TemplateRegistry([t]).plan('bad@1', manifest())).toThrow(/option performance\.min\.accuracy: is not a regression metric/);
  });
});

describe('the alert policy', () => {
  const policy: AlertPolicy = { consecutive: 2, cooldownMs: 60_000, critical: ['performance'], retrainAt: 'critical' };
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  const run = (verdicts: [number, BreachKind[]][], p = policy) => {
    let state: AlertState = NO_ALERTS;
    return verdicts.map(([s, kinds]) => {
      const step = stepAlerts(state, kinds, at(s), p);
      state = step.state;
      return step;
    });
  };

  it('raises an alert after the consecutive breaches, not before; a passing window ends the streak', () => {
    const steps = run([[0, ['drift']], [1, []], [2, ['drift']], [3, ['latency']]]);
    expect(steps.map((s) => s.alert?.severity ?? null)).toEqual([null, null, null, 'warning']);
    expect(steps[0]!.held).toEqual({ held: 'streak', streak: 1, needed: 2 });
    expect(steps[3]!.alert).toEqual({ severity: 'warning', streak: 2, kinds: ['latency', 'drift'], retrain: false });
  });

  it('holds further alerts for the cooldown, then alerts again while the breach persists', () => {
    const steps = run([[0, ['errors']], [1, ['errors']], [30, ['errors']], [61, ['errors']]]);
    expect(steps.map((s) => s.alert !== null)).toEqual([false, true, false, true]);
    expect(steps[2]!.held).toEqual({ held: 'cooldown', until: at(61) });
  });

  it('a critical breach kind in the streak makes the alert critical, which starts a retrain at retrainAt critical', () => {
    const steps = run([[0, ['drift']], [1, ['performance']]]);
    expect(steps[1]!.alert).toMatchObject({ severity: 'critical', retrain: true });
    expect(run([[0, ['drift']], [1, ['performance']]], { ...policy, retrainAt: null })[1]!.alert).toMatchObject({ severity: 'critical', retrain: false });
    expect(run([[0, ['drift']], [1, ['drift']]], { ...policy, retrainAt: 'warning' })[1]!.alert).toMatchObject({ severity: 'warning', retrain: true });
  });
});

describe('judging performance on labelled requests', () => {
  const perf = { task: 'classification' as const, output: 'probability', threshold: 0.5, min: { accuracy: 0.8, rocAuc: 0.7 }, max: {}, minLabels: 10 };
  it('judges floors, leaves uncomputable metrics unjudged, and judges nothing below minLabels', () => {
    const v = judgePerformance({ labelled: 50, metrics: { accuracy: 0.62, rocAuc: null }, fairness: { age_band: { demographicParityDifference: 0.3 } } }, perf, { min: {}, max: { demographicParityDifference: 0.1 } });
    expect(v.breaches).toEqual(['accuracy 0.62 < 0.8', 'age_band: demographicParityDifference 0.3 > 0.1']);
    expect(v.kinds).toEqual(['performance', 'fairness']);
    expect(judgePerformance({ labelled: 5, metrics: { accuracy: 0.1 }, fairness: {} }, perf, null)).toMatchObject({ breaches: [], tooFewLabels: true });
  });
});
