import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { fairnessMetrics } from '../../activities/evaluation/fairness.js';
import { classificationMetrics, MetricInputError, regressionMetrics } from '../../activities/evaluation/metrics.js';
import { normal, seededRandom } from '../harness/datasets.js';
import { ensurePythonReference } from '../harness/python-reference.js';

const run = promisify(execFile);

/** scikit-learn and fairlearn on the same arrays; NaN travels as null. */
const REFERENCE = String.raw`
import json, math, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
from sklearn import metrics as m
from fairlearn import metrics as f
cases = json.load(open(sys.argv[1]))
def clean(v):
    v = float(v)
    return None if math.isnan(v) else v
out = []
for c in cases:
    y = np.array(c["labels"], dtype=float)
    if c["kind"] == "classification":
        s = np.array(c["scores"], dtype=float)
        p = (s >= c["threshold"]).astype(int)
        yi = y.astype(int)
        r = {
            "accuracy": m.accuracy_score(yi, p),
            "precision": m.precision_score(yi, p, zero_division=0),
            "recall": m.recall_score(yi, p, zero_division=0),
            "f1": m.f1_score(yi, p, zero_division=0),
            "rocAuc": m.roc_auc_score(yi, s) if len(set(c["labels"])) == 2 else float("nan"),
            "logLoss": m.log_loss(yi, y_proba=s, labels=[0, 1]),
        }
        g = c["groups"]
        r.update({
            "demographicParityDifference": f.demographic_parity_difference(yi, p, sensitive_features=g),
            "demographicParityRatio": f.demographic_parity_ratio(yi, p, sensitive_features=g),
            "equalizedOddsDifference": f.equalized_odds_difference(yi, p, sensitive_features=g),
            "equalOpportunityDifference": f.equal_opportunity_difference(yi, p, sensitive_features=g),
        })
    else:
        q = np.array(c["predictions"], dtype=float)
        r = {
            "rmse": m.root_mean_squared_error(y, q),
            "mae": m.mean_absolute_error(y, q),
            "mape": m.mean_absolute_percentage_error(y, q),
            "r2": m.r2_score(y, q),
        }
    out.append({k: clean(v) for k, v in r.items()})
print(json.dumps(out))
`;

interface ClassificationCase {
  kind: 'classification';
  name: string;
  labels: number[];
  scores: number[];
  groups: string[];
  threshold: number;
}
interface RegressionCase {
  kind: 'regression';
  name: string;
  labels: number[];
  predictions: number[];
}
type Case = ClassificationCase | RegressionCase;

const GROUPS = ['18-25', '26-40', '41-65', '65+'];

/** A noisy logistic scorer: `signal` sets how well scores separate the classes; `decimals` rounds them into ties. */
function classificationCase(name: string, seed: number, rows: number, options: { signal: number; decimals?: number; threshold?: number; extremes?: boolean; constant?: number }): ClassificationCase {
  const random = seededRandom(seed);
  const z = normal(random);
  const labels: number[] = [];
  const scores: number[] = [];
  const groups: string[] = [];
  for (let i = 0; i < rows; i++) {
    const groupIndex = Math.floor(random() * GROUPS.length);
    // The last group never has a positive label: its true positive rate is 0 by scikit-learn's rule.
    const label = groupIndex === 3 ? 0 : random() < 0.3 + 0.1 * groupIndex ? 1 : 0;
    let score = 1 / (1 + Math.exp(-(options.signal * (label - 0.5) + z() + 0.2 * groupIndex)));
    if (options.decimals !== undefined) score = Number(score.toFixed(options.decimals));
    if (options.constant !== undefined) score = options.constant;
    if (options.extremes && i % 17 === 0) score = label === 1 ? (i % 2 ? 0 : 1) : i % 2 ? 1 : 0;
    labels.push(label);
    scores.push(score);
    groups.push(GROUPS[groupIndex]!);
  }
  return { kind: 'classification', name, labels, scores, groups, threshold: options.threshold ?? 0.5 };
}

function regressionCase(name: string, seed: number, rows: number, options: { zeros?: boolean; constant?: boolean }): RegressionCase {
  const random = seededRandom(seed);
  const z = normal(random);
  const labels: number[] = [];
  const predictions: number[] = [];
  for (let i = 0; i < rows; i++) {
    const x = z();
    let label = options.constant ? 7 : 100 + 30 * x + 5 * z();
    if (options.zeros && i % 11 === 0) label = 0;
    labels.push(label);
    predictions.push(100 + 28 * x + (options.constant ? 0 : 3 * z()));
  }
  return { kind: 'regression', name, labels, predictions };
}

const CASES: Case[] = [
  classificationCase('continuous scores', 1, 5000, { signal: 2 }),
  classificationCase('scores rounded to two decimals (many ties)', 2, 5000, { signal: 1.5, decimals: 2 }),
  classificationCase('scores rounded to one decimal, threshold 0.3', 3, 2000, { signal: 1, decimals: 1, threshold: 0.3 }),
  classificationCase('exact 0 and 1 scores (log-loss clipping)', 4, 3000, { signal: 3, extremes: true }),
  classificationCase('a weak scorer on few rows', 5, 40, { signal: 0.2 }),
  classificationCase('every score the same (one tie)', 6, 200, { signal: 0, constant: 0.7 }),
  regressionCase('noisy linear', 7, 5000, {}),
  regressionCase('labels with zeros (MAPE epsilon)', 8, 3000, { zeros: true }),
  regressionCase('constant labels', 9, 500, { constant: true }),
];

function steward(c: Case): Record<string, number> {
  if (c.kind === 'regression') return { ...regressionMetrics(c.labels, c.predictions) };
  const predicted = c.scores.map((s) => (s >= c.threshold ? 1 : 0));
  return { ...classificationMetrics(c.labels, c.scores, { threshold: c.threshold }), ...fairnessMetrics(c.labels, predicted, c.groups) };
}

describe('evaluation metrics against scikit-learn 1.9.1 and fairlearn 0.15.0', () => {
  let reference: Record<string, number | null>[];

  beforeAll(async () => {
    const { python } = await ensurePythonReference();
    const dir = await mkdtemp(join(tmpdir(), 'steward-metrics-ref-'));
    await writeFile(join(dir, 'cases.json'), JSON.stringify(CASES));
    await writeFile(join(dir, 'reference.py'), REFERENCE);
    const { stdout } = await run(python, [join(dir, 'reference.py'), join(dir, 'cases.json')], { maxBuffer: 1 << 24 });
    reference = JSON.parse(stdout) as Record<string, number | null>[];
  }, 300_000);

  it.each(CASES.map((c, i) => [c.name, i] as const))('%s: every metric within 1e-9', (_name, index) => {
    const ours = steward(CASES[index]!);
    const theirs = reference[index]!;
    expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
    for (const [metric, expected] of Object.entries(theirs)) {
      const actual = ours[metric]!;
      if (expected === null) expect(actual, metric).toBeNaN();
      // Absolute below 1, relative above: MAPE over a zero label is ~1e16, where 1e-9 is below float64's resolution.
      else expect(Math.abs(actual - expected), `${metric}: Steward ${actual}, reference ${expected}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
    }
  });

  it('the generated cases exercise ties, clipping, empty classes and constant targets', () => {
    const tied = CASES[1] as ClassificationCase;
    expect(new Set(tied.scores).size).toBeLessThan(tied.scores.length / 10);
    expect((CASES[3] as ClassificationCase).scores).toContain(0);
    expect((CASES[3] as ClassificationCase).scores).toContain(1);
    expect(reference[5]!.rocAuc).toBe(0.5);
    expect((CASES[7] as RegressionCase).labels).toContain(0);
    expect(reference[8]!.r2).toBe(0);
  });
});

describe('evaluation metrics refuse malformed input', () => {
  it('names the array and the index of the bad entry', () => {
    expect(() => classificationMetrics([0, 1], [0.2])).toThrow(new MetricInputError('labels has 2 entries but scores has 1'));
    expect(() => classificationMetrics([0, 2], [0.2, 0.4])).toThrow('labels[1] is 2, not 0 or 1');
    expect(() => classificationMetrics([0, 1], [0.2, 1.4])).toThrow('scores[1] is 1.4, not a probability in [0, 1]');
    expect(() => regressionMetrics([1, Number.NaN], [1, 2])).toThrow('labels[1] is not a finite number');
    expect(() => regressionMetrics([], [])).toThrow('labels is empty');
    expect(() => fairnessMetrics([0, 1], [1, 0], ['a'])).toThrow('labels, predicted and groups have 2, 2 and 1 entries');
  });

  it('one-class labels give a NaN ROC AUC, and a never-selecting model a NaN parity ratio, as the references do', () => {
    expect(classificationMetrics([1, 1, 1], [0.2, 0.7, 0.9]).rocAuc).toBeNaN();
    expect(fairnessMetrics([0, 1, 0, 1], [0, 0, 0, 0], ['a', 'a', 'b', 'b']).demographicParityRatio).toBeNaN();
  });
});
