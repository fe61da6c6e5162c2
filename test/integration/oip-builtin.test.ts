import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchScoringActivities, type BatchScoringRequest, type BatchScoringResult } from '../../activities/batch-scoring.js';
import { createArtifactStager } from '../../activities/runtime-staging.js';
import { startBuiltinRuntime, type BuiltinRuntime } from '../../runtimes/builtin/server.js';
import { createOipRuntime, RuntimeError, type OipRuntime } from '../../runtimes/oip.js';
import { BUILTIN_IMPLEMENTATIONS, type ModelToServe } from '../../runtimes/runtime.js';
import { TEST_ROOT, testReadSettings } from '../harness/reading.js';

/**
 * The same adapter against Steward's built-in runtime: a linear model declared in JSON is staged, loaded
 * (twice), scored, and unloaded (twice), as on MLServer; and a rules model with a category input scores a
 * CSV batch, sent one column per field.
 */

const LINEAR = { kind: 'linear', features: ['income', 'debt_to_income'], coefficients: [0.00002, -6], intercept: 0.5, link: 'logistic', labels: ['decline', 'approve'] };
const rows = [
  { income: 85_000, debt_to_income: 0.2 },
  { income: 30_000, debt_to_income: 0.6 },
  { income: 52_000, debt_to_income: 0.35 },
];
/** What the document says each row scores: the logistic of the linear score, and its label at 0.5. */
const expected = rows.map((r) => {
  const p = 1 / (1 + Math.exp(-(LINEAR.intercept + LINEAR.coefficients[0]! * r.income + LINEAR.coefficients[1]! * r.debt_to_income)));
  return { p, label: p >= 0.5 ? 'approve' : 'decline' };
});

let dir: string;
let server: BuiltinRuntime;
let runtime: OipRuntime;
let model: ModelToServe;
const repository = () => join(dir, 'repository');

beforeAll(async () => {
  dir = await mkdtemp(join(TEST_ROOT, 'steward-oip-builtin-'));
  const text = JSON.stringify(LINEAR);
  await writeFile(join(dir, 'scorecard.json'), text);
  model = {
    name: 'scorecard-v1.0.0',
    modelVersionId: 'scorecard@1.0.0',
    version: '1.0.0',
    kind: 'ml',
    framework: 'json-linear',
    artifacts: [{ uri: pathToFileURL(join(dir, 'scorecard.json')).href, sha256: createHash('sha256').update(text).digest('hex') }],
    inputSchema: [
      { name: 'income', type: 'number', nullable: false },
      { name: 'debt_to_income', type: 'number', nullable: false },
    ],
    outputSchema: [{ name: 'label', type: 'string', nullable: false }],
  };
  server = await startBuiltinRuntime({ repository: repository(), port: 0 });
  runtime = createOipRuntime({ name: 'embedded', kind: 'builtin', url: server.url, repository: repository() }, { stage: createArtifactStager(testReadSettings()) });
});

afterAll(async () => {
  await runtime?.close();
  await server?.close();
});

const request = {
  inputs: [
    { name: 'income', shape: [rows.length], datatype: 'FP64' as const, data: rows.map((r) => r.income) },
    { name: 'debt_to_income', shape: [rows.length], datatype: 'FP64' as const, data: rows.map((r) => r.debt_to_income) },
  ],
};

describe('Open Inference Protocol runtime on the built-in runtime', () => {
  it('loads a JSON linear model twice and the index lists it once, READY', async () => {
    await runtime.load(model);
    await runtime.load(model);
    expect((await runtime.index()).filter((e) => e.name === model.name)).toEqual([expect.objectContaining({ state: 'READY' })]);
    const settings = JSON.parse(await readFile(join(repository(), model.name, 'model-settings.json'), 'utf8'));
    expect(settings).toEqual({ name: model.name, implementation: BUILTIN_IMPLEMENTATIONS.linear, parameters: { uri: './scorecard.json', version: '1.0.0' } });
    expect(await runtime.ready(model.name)).toBe(true);
    expect(await runtime.metadata(model.name)).toMatchObject({ name: model.name, inputs: [{ name: 'income' }, { name: 'debt_to_income' }] });
  });

  it('scores what the document says', async () => {
    const answer = await runtime.infer(model.name, request);
    const byName = new Map(answer.outputs.map((o) => [o.name, o.data]));
    const probabilities = byName.get('probability') as number[];
    expected.forEach((e, i) => expect(probabilities[i]).toBeCloseTo(e.p, 12));
    expect(byName.get('label')).toEqual(expected.map((e) => e.label));
  });

  it('unloads, answers inference with a 404, and unloading again succeeds', async () => {
    await runtime.unload(model.name);
    expect(await runtime.ready(model.name)).toBe(false);
    expect((await runtime.index()).filter((e) => e.name === model.name)).toEqual([expect.objectContaining({ state: 'UNAVAILABLE' })]);
    const failure = await runtime.infer(model.name, request).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RuntimeError);
    expect(failure).toMatchObject({ status: 404, retryable: false });
    await expect(runtime.unload(model.name)).resolves.toBeUndefined();
  });

  it('batch-scores a CSV with a rules model over numeric and category columns', async () => {
    const rules = JSON.stringify({ kind: 'rules', rules: [{ if: 'debt_to_income > 0.45 or age_band == "18-25"', then: 'decline' }, { else: 'approve' }] });
    await writeFile(join(dir, 'rules.json'), rules);
    await runtime.load({
      ...model,
      name: 'credit-rules-v1.0.0',
      modelVersionId: 'credit-rules@1.0.0',
      kind: 'rules',
      framework: 'json-rules',
      artifacts: [{ uri: pathToFileURL(join(dir, 'rules.json')).href, sha256: createHash('sha256').update(rules).digest('hex'), name: 'rules' }],
    });
    await writeFile(join(dir, 'applications.csv'), 'income,debt_to_income,age_band\n85000,0.2,41-65\n30000,0.6,26-40\n52000,0.1,18-25\n');
    const { scoreBatch } = batchScoringActivities({ runtimes: { forTarget: () => runtime }, reading: testReadSettings(), outputDir: join(dir, 'batch') });
    const batch: BatchScoringRequest = {
      batchId: 'applications',
      modelVersionId: 'credit-rules@1.0.0',
      deploymentTarget: 'embedded',
      inputSchema: [
        { name: 'income', type: 'number', nullable: false },
        { name: 'debt_to_income', type: 'number', nullable: false },
        { name: 'age_band', type: 'category', nullable: false, categories: ['18-25', '26-40', '41-65', '65+'] },
      ],
      inputUri: pathToFileURL(join(dir, 'applications.csv')).href,
    };
    const result: BatchScoringResult = await new MockActivityEnvironment().run(scoreBatch, batch);
    expect(result.rows).toBe(3);
    const lines = (await readFile(fileURLToPath(result.outputUri), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { row: 1, outputs: { decision: 'approve' } },
      { row: 2, outputs: { decision: 'decline' } },
      { row: 3, outputs: { decision: 'decline' } },
    ]);
  });

  it('refuses a framework the built-in runtime cannot serve', async () => {
    await expect(runtime.load({ ...model, name: 'sk-v1.0.0', framework: 'sklearn' })).rejects.toThrow('deployment target "embedded" (builtin) cannot serve framework "sklearn"');
  });
});
