import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACT_DIGEST_MISMATCH, createArtifactStager } from '../../activities/runtime-staging.js';
import { createOipRuntime, RuntimeError, type OipRuntime } from '../../runtimes/oip.js';
import type { ModelToServe, RuntimeTarget } from '../../runtimes/runtime.js';
import { startMlserver, trainSklearnModel, type RunningMlserver, type TrainedSklearnModel } from '../harness/mlserver.js';
import { TEST_ROOT, testReadSettings } from '../harness/reading.js';

/**
 * The Open Inference Protocol adapter against a real MLServer 1.7.1 serving a scikit-learn classifier that the
 * test trains: staging through the allow-listed reader, load (twice), ready, metadata, inference compared with
 * scikit-learn's own predictions, unload (twice), and the refusals (wrong digest, unsupported framework).
 */

let dir: string;
let trained: TrainedSklearnModel;
let mlserver: RunningMlserver;
let runtime: OipRuntime;
let target: RuntimeTarget;

const served = (overrides: Partial<ModelToServe> = {}): ModelToServe => ({
  name: 'churn-v1.0.0',
  modelVersionId: 'churn@1.0.0',
  version: '1.0.0',
  kind: 'ml',
  framework: 'scikit-learn',
  artifacts: [{ uri: pathToFileURL(trained.modelPath).href, sha256: trained.sha256, name: 'model' }],
  inputSchema: [{ name: 'x', type: 'number', nullable: false }],
  outputSchema: [{ name: 'label', type: 'integer', nullable: false }],
  ...overrides,
});

const features = (rows: number[][]) => ({ inputs: [{ name: 'features', shape: [rows.length, rows[0]!.length], datatype: 'FP64' as const, data: rows.flat() }] });

beforeAll(async () => {
  dir = await mkdtemp(join(TEST_ROOT, 'steward-oip-'));
  trained = await trainSklearnModel(join(dir, 'trained'));
  mlserver = await startMlserver({ repository: join(dir, 'repository') });
  target = { name: 'lab', kind: 'mlserver', url: mlserver.url, repository: mlserver.repository };
  runtime = createOipRuntime(target, { stage: createArtifactStager(testReadSettings()) });
}, 600_000);

afterAll(async () => {
  await runtime?.close();
  await mlserver?.stop();
});

describe('Open Inference Protocol runtime on MLServer', () => {
  it('loads a version twice and the repository index lists it once, READY', async () => {
    await runtime.load(served());
    await runtime.load(served());
    const entries = (await runtime.index()).filter((e) => e.name === 'churn-v1.0.0');
    expect(entries).toEqual([expect.objectContaining({ name: 'churn-v1.0.0', version: '1.0.0', state: 'READY' })]);
    const settings = JSON.parse(await readFile(join(target.repository, 'churn-v1.0.0', 'model-settings.json'), 'utf8'));
    expect(settings).toEqual({ name: 'churn-v1.0.0', implementation: 'mlserver_sklearn.SKLearnModel', parameters: { uri: './model.joblib', version: '1.0.0' } });
    // The copy and the settings only: no temporary files left behind.
    expect((await readdir(join(target.repository, 'churn-v1.0.0'))).sort()).toEqual(['model-settings.json', 'model.joblib']);
  });

  it('reports the loaded version ready and describes it', async () => {
    expect(await runtime.ready('churn-v1.0.0')).toBe(true);
    expect(await runtime.ready('never-loaded-v1.0.0')).toBe(false);
    expect(await runtime.metadata('churn-v1.0.0')).toMatchObject({ name: 'churn-v1.0.0' });
  });

  it("scores exactly what scikit-learn predicted, classes and probabilities", async () => {
    const classes = await runtime.infer('churn-v1.0.0', { id: 'request-1', ...features(trained.inputs) });
    expect(classes).toMatchObject({ model_name: 'churn-v1.0.0', id: 'request-1' });
    expect(classes.outputs).toHaveLength(1);
    expect(classes.outputs[0]).toMatchObject({ name: 'predict', shape: [trained.inputs.length, 1] });
    expect(classes.outputs[0]!.data).toEqual(trained.predictions);

    const probabilities = await runtime.infer('churn-v1.0.0', { ...features(trained.inputs), outputs: [{ name: 'predict_proba' }] });
    expect(probabilities.outputs[0]).toMatchObject({ name: 'predict_proba', datatype: 'FP64', shape: [trained.inputs.length, 3] });
    const data = probabilities.outputs[0]!.data as number[];
    trained.probabilities.flat().forEach((p, i) => expect(data[i]).toBeCloseTo(p, 12));
  });

  it('scores many requests at once over its kept-alive connections', async () => {
    const answers = await Promise.all(trained.inputs.map((row) => runtime.infer('churn-v1.0.0', features([row]))));
    expect(answers.map((a) => (a.outputs[0]!.data as number[])[0])).toEqual(trained.predictions);
  });

  it('unloads: the index shows the version UNAVAILABLE, inference is a 404, and unloading again succeeds', async () => {
    await runtime.load(served({ name: 'churn-v2.0.0', version: '2.0.0', modelVersionId: 'churn@2.0.0' }));
    await runtime.unload('churn-v2.0.0');
    const entries = await runtime.index();
    // MLServer lists what is in its repository folder; the staged files stay (see runtimes/oip.ts), so the
    // version is listed as unavailable rather than dropped.
    expect(entries.filter((e) => e.name === 'churn-v2.0.0')).toEqual([expect.objectContaining({ state: 'UNAVAILABLE' })]);
    expect(await runtime.ready('churn-v2.0.0')).toBe(false);
    const failure = await runtime.infer('churn-v2.0.0', features(trained.inputs.slice(0, 1))).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RuntimeError);
    expect(failure).toMatchObject({ status: 404, retryable: false, message: expect.stringContaining('churn-v2.0.0') });
    await expect(runtime.unload('churn-v2.0.0')).resolves.toBeUndefined();
    await expect(runtime.unload('never-loaded-v9.9.9')).resolves.toBeUndefined();
    // The other version was never touched.
    expect(await runtime.ready('churn-v1.0.0')).toBe(true);
  });

  it('refuses an artifact whose bytes do not match its sha256: nothing staged, nothing loaded', async () => {
    const wrong = served({ name: 'tampered-v1.0.0', artifacts: [{ uri: pathToFileURL(trained.modelPath).href, sha256: 'a'.repeat(64), name: 'model' }] });
    const failure = await runtime.load(wrong).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: ARTIFACT_DIGEST_MISMATCH, nonRetryable: true, message: expect.stringContaining('a'.repeat(64)) });
    expect(await readdir(join(target.repository, 'tampered-v1.0.0'))).toEqual([]);
    expect((await runtime.index()).map((e) => e.name)).not.toContain('tampered-v1.0.0');
  });

  it('refuses a location outside the readable roots before reading it', async () => {
    const outside = served({ name: 'outside-v1.0.0', artifacts: [{ uri: 'file:///etc/hostname', sha256: 'a'.repeat(64), name: 'model' }] });
    await expect(runtime.load(outside)).rejects.toMatchObject({ type: 'UriNotAllowed', nonRetryable: true });
  });

  it('refuses a framework the target cannot serve, naming the target, its kind and the framework', async () => {
    const failure = await runtime.load(served({ name: 'tf-v1.0.0', framework: 'tensorflow' })).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RuntimeError);
    expect(failure).toMatchObject({ retryable: false, message: expect.stringMatching(/"lab" \(mlserver\).*"tensorflow"/) });
    expect((await runtime.index()).map((e) => e.name)).not.toContain('tf-v1.0.0');
  });

  it('a runtime that is not there is a retryable error naming the target', async () => {
    const gone = createOipRuntime({ ...target, name: 'gone', url: 'http://127.0.0.1:1' }, { stage: createArtifactStager(testReadSettings()) });
    try {
      await expect(gone.ready('churn-v1.0.0')).rejects.toMatchObject({ name: 'RuntimeError', status: undefined, retryable: true, message: expect.stringContaining('gone') });
    } finally {
      await gone.close();
    }
  });

  it('stops waiting when the call is aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('deploy cancelled'));
    await expect(runtime.load(served(), { signal: controller.signal })).rejects.toThrow('deploy cancelled');
  });
});
