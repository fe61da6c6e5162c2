import { describe, expect, it } from 'vitest';
import { assertReadable, manifestUris } from '../../api/uri-check.js';
import { previewScoredTest } from '../../audit/preview-scoring.js';
import type { EvaluatePolicy, EvaluationMeasurement } from '../../core/evaluation.js';
import { judgeEvaluation } from '../../core/gates.js';
import { manifestSchema } from '../../core/manifest.js';
import { stageOptions } from '../../workflows/dsl/options.js';
import { sampleManifest } from '../harness/manifests.js';
import { testReadSettings } from '../harness/reading.js';

const { testOptions } = stageOptions();

const policy: EvaluatePolicy = {
  required: true,
  vsChampion: { auc: 0.01 },
  claimTolerance: 0.05,
  latency: { batch: 50, p95Ms: 100 },
  fairness: { min: { demographicParityRatio: 0.8 }, max: { equalizedOddsDifference: 0.1 } },
  edgeCases: { timeoutMs: 10_000 },
  batchRows: 256,
  threshold: 0.5,
};

const measurement = (overrides: Partial<EvaluationMeasurement> = {}): EvaluationMeasurement => ({
  task: 'classification',
  rows: 1000,
  datasetSha256: 'a'.repeat(64),
  metrics: { accuracy: 0.82, precision: 0.7, recall: 0.6, f1: 0.65, rocAuc: 0.86, logLoss: 0.41 },
  champion: { modelVersionId: 'credit@1.0.0', metrics: { rocAuc: 0.865, logLoss: 0.4 } },
  fairness: { age_band: { demographicParityDifference: 0.05, demographicParityRatio: 0.9, equalizedOddsDifference: 0.04, equalOpportunityDifference: 0.03 } },
  latency: { batch: 50, p50Ms: 3, p95Ms: 9 },
  contract: [{ name: 'edge case: zeros', outcome: 'output', detail: 'answered with a valid output', passed: true }],
  ...overrides,
});

const bounds = { min: { auc: 0.8, accuracy: 0.75 }, max: { logLoss: 0.6 } };

describe('judgeEvaluation: the test gate by scoring', () => {
  it('passes a candidate within every bound, near the champion, true to its claims, fair, fast and well-behaved', () => {
    const verdict = judgeEvaluation(measurement(), { auc: 0.87, accuracy: 0.8 }, bounds, policy);
    expect(verdict.failures).toEqual([]);
    expect(verdict.passed).toBe(true);
    expect(verdict.checks.map((c) => c.kind).sort()).toEqual(
      ['champion', 'claim', 'claim', 'contract', 'fairness', 'fairness', 'latency', 'threshold', 'threshold', 'threshold'].sort(),
    );
  });

  it('fails a metric under its floor, naming metric, measured value, claim and threshold', () => {
    const verdict = judgeEvaluation(measurement({ metrics: { ...measurement().metrics, rocAuc: 0.7123456 } }), { auc: 0.91 }, bounds, { ...policy, claimTolerance: null });
    expect(verdict.passed).toBe(false);
    expect(verdict.failures).toContain('rocAuc measured 0.712346 (claimed 0.91) is below the minimum 0.8');
    const check = verdict.checks.find((c) => c.kind === 'threshold' && c.metric === 'rocAuc');
    expect(check).toMatchObject({ measured: 0.7123456, claimed: 0.91, minimum: 0.8, passed: false });
  });

  it('fails a candidate worse than the champion by more than the allowed drop, and not one within it', () => {
    const worse = judgeEvaluation(measurement({ metrics: { ...measurement().metrics, rocAuc: 0.84 } }), {}, bounds, policy);
    expect(worse.failures).toEqual(["rocAuc measured 0.84 is 0.025 worse than the champion credit@1.0.0's 0.865 on the same rows (at most 0.01 worse allowed)"]);
    const close = judgeEvaluation(measurement({ metrics: { ...measurement().metrics, rocAuc: 0.856 } }), {}, bounds, policy);
    expect(close.passed).toBe(true);
    // Lower is better for log loss: a larger loss is the worse one.
    const loss = judgeEvaluation(measurement(), {}, bounds, { ...policy, vsChampion: { logLoss: 0.005 } });
    expect(loss.failures[0]).toMatch(/^logLoss measured 0.41 is 0.01 worse than the champion/);
  });

  it('without a champion there is nothing to compare with, and the gate does not invent one', () => {
    const verdict = judgeEvaluation(measurement({ champion: null }), {}, bounds, policy);
    expect(verdict.checks.some((c) => c.kind === 'champion')).toBe(false);
    expect(verdict.passed).toBe(true);
  });

  it('fails a claim off by more than the tolerance, and only reports it without one', () => {
    const judged = judgeEvaluation(measurement(), { auc: 0.95 }, bounds, policy);
    expect(judged.failures).toEqual(['rocAuc claimed 0.95, measured 0.86: off by 0.09 (tolerance 0.05)']);
    const reported = judgeEvaluation(measurement(), { auc: 0.95, custom_kpi: 3 }, bounds, { ...policy, claimTolerance: null });
    expect(reported.passed).toBe(true);
    expect(reported.checks.filter((c) => c.kind === 'claim')).toEqual([expect.objectContaining({ metric: 'rocAuc', claimed: 0.95, measured: 0.86, passed: true })]);
  });

  it('fails fairness per protected attribute, latency over budget, and any failed contract probe', () => {
    const verdict = judgeEvaluation(
      measurement({
        fairness: { age_band: { demographicParityRatio: 0.62, equalizedOddsDifference: 0.2 } },
        latency: { batch: 50, p50Ms: 40, p95Ms: 180 },
        contract: [{ name: 'edge case: wrong types', outcome: 'crash', detail: 'failed instead of answering or refusing: 500', passed: false }],
      }),
      {},
      bounds,
      policy,
    );
    expect(verdict.failures).toEqual([
      'demographicParityRatio over age_band measured 0.62 is below the minimum 0.8',
      'equalizedOddsDifference over age_band measured 0.2 is above the maximum 0.1',
      'latency p95 over 50 single-row requests measured 180 ms is above the budget of 100 ms',
      'edge case: wrong types: failed instead of answering or refusing: 500',
    ]);
  });

  it('a metric that could not be measured fails its bound rather than passing', () => {
    const verdict = judgeEvaluation(measurement({ metrics: { rocAuc: Number.NaN } }), {}, { min: { auc: 0.5 }, max: {} }, { ...policy, vsChampion: {} });
    expect(verdict.failures).toEqual(['rocAuc measured not measurable (not claimed) is below the minimum 0.5']);
  });
});

describe('testOptions: the template DSL of the test gate', () => {
  it('keeps a released template meaning what it meant: no evaluate, free metric names', () => {
    expect(testOptions.parse({ min: { auc: 0.7, 'business.kpi': 3 } })).toEqual({ min: { auc: 0.7, 'business.kpi': 3 }, max: {} });
    expect(testOptions.parse(undefined)).toEqual({ min: {}, max: {} });
  });

  it('fills the scoring defaults and turns the edge-case timeout into milliseconds', () => {
    const parsed = testOptions.parse({ min: { auc: 0.7 }, evaluate: { vsChampion: { auc: 0.01 }, latency: { p95Ms: 200 }, edgeCases: { timeout: '5s' } } });
    expect(parsed.evaluate).toEqual({
      required: true,
      vsChampion: { auc: 0.01 },
      claimTolerance: null,
      latency: { batch: 100, p95Ms: 200 },
      fairness: null,
      edgeCases: { timeoutMs: 5000 },
      batchRows: 256,
      threshold: 0.5,
    });
  });

  it('names the option and the problem when a bound or a comparison is not a metric Steward measures', () => {
    const bad = testOptions.safeParse({ min: { 'business.kpi': 3 }, evaluate: { vsChampion: { uplift: 0.1 }, fairness: { max: { parity: 0.1 } } } });
    expect(bad.success).toBe(false);
    const bounds = testOptions.safeParse({ min: { 'business.kpi': 3 }, evaluate: {} });
    expect(bounds.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([expect.stringMatching(/^min\.business\.kpi: bounds a measured metric when evaluate is set/)]);
    const paths = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^evaluate\.vsChampion\.uplift: must be a metric Steward measures/),
        expect.stringMatching(/^evaluate\.fairness\.max: Unrecognized key: "parity"/),
      ]),
    );
  });
});

describe('the manifest evaluation field', () => {
  it('accepts a dataset, label, task, output and protected attributes', async () => {
    const manifest = manifestSchema.parse(
      await sampleManifest({ evaluation: { dataset: { uri: 'file:///data/holdout.csv' }, label: 'defaulted', task: 'classification', output: 'probability', protectedAttributes: ['age_band'] } }),
    );
    expect(manifest.evaluation).toMatchObject({ label: 'defaulted', task: 'classification' });
  });

  it('refuses a label that is an input, an unknown output and a bad task, naming the field', async () => {
    const result = manifestSchema.safeParse(
      await sampleManifest({ evaluation: { dataset: { uri: 'file:///data/holdout.csv' }, label: 'income', task: 'classification', output: 'nope' } }),
    );
    expect(result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'evaluation.label: "income" is an input field; the label must be a column of its own',
      'evaluation.output: "nope" is not a field of outputSchema',
    ]);
    const task = manifestSchema.safeParse(await sampleManifest({ evaluation: { dataset: { uri: 'file:///d.csv' }, label: 'y', task: 'ranking' as never } }));
    expect(task.error!.issues[0]!.path).toEqual(['evaluation', 'task']);
  });
});

describe('policy preview of a scoring test step', () => {
  const transition = (summary: Record<string, unknown>) =>
    ({ stage: 'test', step: 'test', outcome: 'passed', detail: { minMetrics: {} }, workflowId: 'w', modelVersionId: 'm@1.0.0', seq: 2, at: '2026-01-01T00:00:00Z', actor: 'steward', report: { kind: 'evaluation', digest: 'd', summary } }) as const;

  it('judges the recorded measurement with the candidate bounds, and says when there is nothing to judge', async () => {
    const withData = manifestSchema.parse(await sampleManifest({ metrics: { auc: 0.87 }, evaluation: { dataset: { uri: 'file:///d.csv' }, label: 'y', task: 'classification' } }));
    const recorded = [transition({ passed: true, method: 'scoring', measurement: measurement() })];
    expect(previewScoredTest({ min: { auc: 0.9 }, max: {} }, policy, withData, recorded)).toEqual({ decision: 'fail', why: 'rocAuc measured 0.86 (claimed 0.87) is below the minimum 0.9' });
    expect(previewScoredTest({ min: { auc: 0.8 }, max: {} }, policy, withData, recorded)).toEqual({ decision: 'pass', why: 'every check passed on 1000 scored rows' });
    expect(previewScoredTest(bounds, policy, withData, [transition({ passed: true, checks: [] })])?.decision).toBe('no-evidence');
    const without = manifestSchema.parse(await sampleManifest({ metrics: { auc: 0.87 } }));
    expect(previewScoredTest(bounds, policy, without, [])).toEqual({ decision: 'fail', why: 'the manifest names no evaluation dataset, and the candidate scores every version' });
    expect(previewScoredTest(bounds, { ...policy, required: false }, without, [])).toBeNull();
  });
});

describe('registration-time check of the evaluation dataset URI', () => {
  it('refuses a location outside the allowed roots with a 400 naming body.evaluation.dataset.uri', async () => {
    const manifest = manifestSchema.parse(await sampleManifest({ evaluation: { dataset: { uri: 'file:///etc/holdout.csv' }, label: 'y', task: 'classification' } }));
    const fields = manifestUris(manifest);
    expect(fields).toContainEqual({ field: 'body.evaluation.dataset.uri', uri: 'file:///etc/holdout.csv' });
    let refusal: unknown;
    try {
      assertReadable(fields, testReadSettings().policy);
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toMatchObject({ statusCode: 400 });
    expect((refusal as Error).message).toMatch(/^body\.evaluation\.dataset\.uri: /);
  });
});
