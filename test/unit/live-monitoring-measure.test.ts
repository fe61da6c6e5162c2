import { describe, expect, it } from 'vitest';
import { labelledPairs, measure, sampleColumns } from '../../activities/live-monitoring.js';
import { formatDrift, formatWindows } from '../../cli/monitoring.js';

const out = (scores: number[]) => [{ name: 'label', data: scores.map((s) => (s >= 0.5 ? 1 : 0)) }, { name: 'probability', data: scores }];
const perf = { task: 'classification' as const, output: 'probability', threshold: 0.5, min: {}, max: {}, minLabels: 1 };

describe('joining labels to logged outputs', () => {
  it('pairs one label per scored row, and counts labels beyond the logged outputs as skipped', () => {
    const rows = [
      { outputs: out([0.9, 0.2]), label: [1, 0] },
      { outputs: out([0.7]), label: 0 },
      { outputs: out([0.4]), label: [1, 1] },
    ];
    expect(labelledPairs(rows, 'probability')).toEqual({ labels: [1, 0, 0, 1], values: [0.9, 0.2, 0.7, 0.4], rowOf: [0, 0, 1, 2], skipped: 1 });
  });

  it('measures a classifier with the test gate’s metrics and fairness per protected attribute; non-binary labels are skipped', () => {
    const rows = [
      { outputs: out([0.9]), label: 1, groups: { sex: 'f' } },
      { outputs: out([0.8]), label: 0, groups: { sex: 'f' } },
      { outputs: out([0.3]), label: 0, groups: { sex: 'm' } },
      { outputs: out([0.6]), label: 1, groups: { sex: 'm' } },
      { outputs: out([0.1]), label: 7, groups: { sex: 'm' } },
    ];
    const m = measure(rows, perf, ['sex', 'age_band']);
    expect(m.labelled).toBe(4);
    expect(m.skipped).toBe(1);
    expect(m.metrics).toMatchObject({ accuracy: 0.75, precision: 2 / 3, recall: 1, rocAuc: 0.75 });
    // f: selection 2/2, m: 1/2; age_band is carried by no label, so it is not sliced.
    expect(m.fairness).toEqual({ sex: expect.objectContaining({ demographicParityDifference: 0.5, demographicParityRatio: 0.5 }) });
  });

  it('reports ROC AUC of a one-class window as not measured (null), not as a number', () => {
    expect(measure([{ outputs: out([0.9]), label: 1, groups: {} }], perf, []).metrics.rocAuc).toBeNull();
  });

  it('measures a regressor', () => {
    const rows = [{ outputs: [{ name: 'y', data: [2, 4] }], label: [1, 4], groups: {} }];
    expect(measure(rows, { ...perf, task: 'regression', output: 'y' }, []).metrics).toMatchObject({ mae: 0.5, rmse: Math.sqrt(0.5) });
  });
});

describe('a gateway window’s sample as drift columns', () => {
  it('gathers each input tensor’s values across exchanges, numbers as numbers, categories as text', () => {
    const sample = [
      { requestId: 'a', inputs: [{ name: 'income', data: [1, 2] }, { name: 'band', data: ['x', 'y'] }], outputs: [] },
      { requestId: 'b', inputs: [{ name: 'income', data: [3, 'n/a', null] }], outputs: [] },
    ];
    const columns = sampleColumns(sample, [
      { name: 'income', kind: 'numerical' },
      { name: 'band', kind: 'categorical' },
      { name: 'absent', kind: 'numerical' },
    ]);
    expect(Object.fromEntries(columns)).toEqual({
      income: { kind: 'numerical', values: [1, 2, 3] },
      band: { kind: 'categorical', values: ['x', 'y'] },
      absent: { kind: 'numerical', values: [] },
    });
  });
});

describe('the CLI’s window reports', () => {
  it('shows a window’s traffic, verdicts, performance and alerts on one line', () => {
    const text = formatWindows('credit@1.0.0', [
      {
        id: 'gw:d:1',
        start: '2026-01-01T00:00:00.000Z',
        requests: 200,
        errors: 3,
        latencyMs: { p50: 10, p95: 42.5, p99: 80 },
        observation: { outcome: 'passed' },
        drift: { outcome: 'drifted', share: 0.5 },
        predictionDrift: { outcome: 'passed' },
        performance: { labelled: 120, metrics: { accuracy: 0.81234, rocAuc: 0.9 } },
        alerts: [{ severity: 'critical', streak: 2, retrain: true }],
      },
    ]);
    expect(text.split('\n')[1]).toMatch(/^2026-01-01T00:00:00.000Z\s+200\s+1.5%\s+42.5 ms\s+passed\s+drifted \(50%\)\s+passed\s+120 labels accuracy 0.812 rocAuc 0.9\s+critical → retrain$/);
  });

  it('shows each column’s test and verdict, and its distributions when the report has them', () => {
    const text = formatDrift('credit@1.0.0', {
      id: 'gw:d:1',
      start: null,
      requests: 1,
      errors: 0,
      latencyMs: null,
      observation: null,
      drift: { outcome: 'drifted', share: 1 },
      predictionDrift: null,
      performance: null,
      alerts: [],
      driftReport: { columns: [{ column: 'income', stattest: 'ks', statistic: 0.00001, threshold: 0.05, drifted: true, histogram: { kind: 'numerical', edges: [0, 1, 2], reference: [3, 1], current: [0, 4] } }, { column: 'region', stattest: 'chisquare', statistic: 0.2, threshold: 0.05, drifted: false, histogram: { kind: 'categorical', categories: ['north', 'south'], reference: [2, 1], current: [1, 2], otherReference: 1, otherCurrent: 0 } }] },
    });
    expect(text).toMatch(/income +ks +0 +0.05 +DRIFTED/);
    expect(text).toMatch(/0–1\s+ref █{23}\s+75%\s+now\s+0%/);
    expect(text).toMatch(/north\s+ref █{15}\s+50%\s+now █{10}\s+33.3%/);
    expect(text).toMatch(/\(other\)\s+ref █{8}\s+25%\s+now\s+0%/);
  });
});
