import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { previewPolicy } from '../../audit/policy-preview.js';
import { manifestSchema, type ManifestInput } from '../../core/manifest.js';
import type { Principal } from '../../core/principal.js';
import { runtimeModelName } from '../../runtimes/runtime.js';
import { defineTemplate, stage } from '../../workflows/dsl/index.js';
import { statusQuery } from '../../workflows/messages.js';
import { scoredTemplates } from '../fixtures/workflows/scored-gates.js';
import { writeArtifact } from '../harness/artifacts.js';
import { creditRows, seededRandom, writeCsv } from '../harness/datasets.js';
import { eventually, startBundledLifecycles, type BundledLifecycles } from '../harness/index.js';
import { sampleManifest } from '../harness/manifests.js';
import { sharedTestRuntime } from '../harness/runtimes.js';

/**
 * The test gate scores the model itself, on the real dev server, PostgreSQL and the built-in runtime: each
 * candidate (a JSON linear model) is loaded into an evaluation slot, scores a generated held-out dataset whose
 * labels follow a known logistic model, answers edge cases and a latency run, and is compared with the
 * champion, the version the previous lifecycle deployed, scored on the same rows in the same activity.
 */

/** The process the labels come from: default risk rises with debt-to-income and falls with income. */
const TRUTH = { income: -0.0001, dti: 25, intercept: -2.8 };
const linear = (income: number, dti: number, intercept = TRUTH.intercept) => ({
  kind: 'linear',
  features: ['income', 'debt_to_income'],
  coefficients: [income, dti],
  intercept,
  link: 'logistic',
  threshold: 0.5,
});

const erin: Principal = { id: 'erin', roles: ['engineer'] };

describe('the test gate by scoring', () => {
  let stack: BundledLifecycles;
  let evaluation: { uri: string; sha256: string };
  const name = `scored-credit-${process.pid.toString(36)}${Date.now().toString(36)}`;

  beforeAll(async () => {
    await sharedTestRuntime();
    stack = await startBundledLifecycles('scored-gates', 'scored-gates.ts', scoredTemplates);
    const random = seededRandom(7);
    const rows = creditRows({ rows: 1500, seed: 13 }).map((r) => {
      const p = 1 / (1 + Math.exp(-(TRUTH.intercept + TRUTH.income * r.income + TRUTH.dti * r.debt_to_income)));
      return { ...r, defaulted: random() < p ? 1 : 0 };
    });
    evaluation = await writeCsv('holdout.csv', rows);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  async function register(version: string, model: object, metrics: Record<string, number>, overrides: Partial<ManifestInput> = {}) {
    const artifact = await writeArtifact('model.json', JSON.stringify(model));
    const manifest = manifestSchema.parse(
      await sampleManifest({
        exactName: name,
        version,
        template: 'scored',
        artifacts: [{ ...artifact, name: 'model' }],
        metrics,
        // The model does not see age band; fairness slices the held-out rows by it all the same.
        inputSchema: [
          { name: 'income', type: 'number' },
          { name: 'debt_to_income', type: 'number' },
        ],
        protectedAttributes: [],
        evaluation: {
          dataset: { uri: evaluation.uri, sha256: evaluation.sha256 },
          label: 'defaulted',
          task: 'classification',
          output: 'probability',
          protectedAttributes: ['age_band'],
        },
        ...overrides,
      }),
    );
    const { workflowId, modelVersionId } = await stack.lifecycles.register(manifest, erin);
    return { handle: stack.client.workflow.getHandle(workflowId), modelVersionId };
  }

  const testTransition = (modelVersionId: string) =>
    eventually(`the test gate of ${modelVersionId}`, async () => {
      const row = await stack.database.db
        .selectFrom('stage_transitions')
        .selectAll()
        .where('model_version_id', '=', modelVersionId)
        .where('stage', '=', 'test')
        .executeTakeFirst();
      return row ?? undefined;
    }, { timeoutMs: 180_000, intervalMs: 250 });

  async function report(modelVersionId: string): Promise<{ measurement: any; checks: any[]; failures: string[] }> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const row = await stack.database.db.selectFrom('reports').selectAll().where('model_version_id', '=', modelVersionId).where('kind', '=', 'evaluation').executeTakeFirstOrThrow();
    return (await stack.database.evidence.get(row.digest)) as never;
  }

  async function monitored(handle: WorkflowHandle): Promise<void> {
    await eventually('the version deployed and monitored', async () => ((await handle.query(statusQuery)).stage === 'monitor' ? true : undefined), { timeoutMs: 180_000 });
  }

  it('passes a good candidate (no champion yet), which then deploys and becomes the champion', async () => {
    const { handle, modelVersionId } = await register('1.0.0', linear(TRUTH.income, TRUTH.dti), { auc: 0.88 });
    const transition = await testTransition(modelVersionId);
    const full = await report(modelVersionId);
    expect(full.failures).toEqual([]);
    expect(transition).toMatchObject({ outcome: 'passed', detail: { method: 'scoring', minMetrics: { auc: 0.7, accuracy: 0.6 } } });
    expect(full.measurement).toMatchObject({ task: 'classification', rows: 1500, datasetSha256: evaluation.sha256, champion: null });
    expect(full.measurement.metrics.rocAuc).toBeGreaterThan(0.8);
    // Every kind of check ran: bounds, the claim, fairness over age_band, latency, the schema and every edge case.
    const kinds = new Set(full.checks.map((c: { kind: string }) => c.kind));
    expect([...kinds].sort()).toEqual(['claim', 'contract', 'fairness', 'latency', 'threshold']);
    expect(Object.keys(full.measurement.fairness)).toEqual(['age_band']);
    expect(full.measurement.contract.map((p: { name: string; outcome: string }) => `${p.name}: ${p.outcome}`)).toEqual([
      'outputs conform to outputSchema: output',
      'edge case: zeros: output',
      'edge case: missing values: refused',
      'edge case: large positive extremes: output',
      'edge case: large negative extremes: output',
      'edge case: wrong types: refused',
      'runtime alive afterwards: output',
    ]);
    await monitored(handle);
    // The evaluation slot was unloaded; the deployed copy serves under its own name.
    const index = await (await sharedTestRuntime()).runtimes.forTarget('default').index();
    expect(index.filter((e) => e.name.startsWith(runtimeModelName(modelVersionId))).map((e) => [e.name, e.state])).toEqual(
      expect.arrayContaining([[runtimeModelName(modelVersionId), 'READY']]),
    );
    expect(index.find((e) => e.name === `${runtimeModelName(modelVersionId)}-evaluation`)?.state ?? 'UNAVAILABLE').not.toBe('READY');
  }, 300_000);

  it('fails a candidate under the threshold, naming metric, measured value, claim and threshold', async () => {
    // Income with the wrong sign and debt ignored: worse than chance on these labels.
    const { handle, modelVersionId } = await register('1.1.0', linear(0.00005, 0, -2.6), { auc: 0.9 });
    const result = await handle.result();
    expect(result.endedBy).toBe('failed-test');
    const full = await report(modelVersionId);
    const auc = full.checks.find((c: { kind: string; metric: string }) => c.kind === 'threshold' && c.metric === 'rocAuc');
    expect(auc).toMatchObject({ claimed: 0.9, minimum: 0.7, passed: false });
    expect(auc.measured).toBeLessThan(0.7);
    const message = `rocAuc measured ${Number(auc.measured.toPrecision(6))} (claimed 0.9) is below the minimum 0.7`;
    expect(result.reason).toContain(message);
    const transition = await testTransition(modelVersionId);
    expect(transition).toMatchObject({ outcome: 'failed', detail: { method: 'scoring' } });
    expect((transition.detail as { failures: string[] }).failures).toContain(message);
  }, 300_000);

  it('fails a candidate worse than the champion by more than 0.01 AUC, though above every absolute floor', async () => {
    // Debt-to-income alone: a fair model, but it drops what income told the champion.
    const { handle, modelVersionId } = await register('1.2.0', linear(0, TRUTH.dti, -8), { auc: 0.84 });
    const result = await handle.result();
    expect(result.endedBy).toBe('failed-test');
    const full = await report(modelVersionId);
    expect(full.measurement.champion.modelVersionId).toBe(`${name}@1.0.0`);
    const vs = full.checks.find((c: { kind: string }) => c.kind === 'champion');
    expect(vs).toMatchObject({ metric: 'rocAuc', maximum: 0.01, passed: false });
    expect(vs.measured).toBeGreaterThan(0.7);
    expect(vs.champion - vs.measured).toBeGreaterThan(0.01);
    expect(full.checks.filter((c: { kind: string; passed: boolean }) => c.kind === 'threshold' && !c.passed)).toEqual([]);
    expect(result.reason).toMatch(new RegExp(`rocAuc measured [0-9.]+ is [0-9.]+ worse than the champion ${name}@1\\.0\\.0's [0-9.]+ on the same rows \\(at most 0\\.01 worse allowed\\)`));
  }, 300_000);

  it("previews a stricter template on the recorded measurement with the gate's own judgement, scoring nothing", async () => {
    const stricter = defineTemplate({
      name: 'scored',
      version: 2,
      description: 'a floor no model here reaches',
      lifecycle: () => ({ gates: [stage.test({ min: { auc: 0.99 }, evaluate: { claimTolerance: 0.05 } })], monitor: stage.monitor({ every: '1h', drift: null }) }),
    });
    const history = await stack.client.workflow.getHandle(`model-version:${name}@1.0.0`).fetchHistory();
    const preview = await previewPolicy([history], stricter);
    const test = preview.candidate.steps.find((step) => step.step === 'test');
    const full = await report(`${name}@1.0.0`);
    expect(test).toEqual({ step: 'test', decision: 'fail', why: `rocAuc measured ${Number(full.measurement.metrics.rocAuc.toPrecision(6))} (claimed 0.88) is below the minimum 0.99` });
  }, 120_000);

  it('fails, naming the dataset, when the evaluation dataset is not there', async () => {
    const { handle } = await register('1.3.0', linear(TRUTH.income, TRUTH.dti), { auc: 0.88 }, {
      evaluation: { dataset: { uri: evaluation.uri.replace('holdout', 'missing-holdout') }, label: 'defaulted', task: 'classification' },
    });
    const result = await handle.result();
    expect(result.endedBy).toBe('failed-test');
    expect(result.reason).toMatch(/scoring could not complete: .*missing-holdout/);
  }, 300_000);
});
