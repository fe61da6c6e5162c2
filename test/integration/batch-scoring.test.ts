import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchScoringActivities, type BatchScoringRequest, type BatchScoringResult } from '../../activities/batch-scoring.js';
import { createArtifactStager } from '../../activities/runtime-staging.js';
import { runtimeModelName } from '../../runtimes/runtime.js';
import { createRuntimes, parseRuntimeTargets, type Runtimes } from '../../runtimes/targets.js';
import { startMlserver, trainSklearnModel, type RunningMlserver, type TrainedSklearnModel } from '../harness/mlserver.js';
import { TEST_ROOT, testReadSettings } from '../harness/reading.js';

/**
 * Batch scoring against a real MLServer serving the test's scikit-learn classifier: CSV and JSON Lines in,
 * predictions out that equal scikit-learn's own, scored in chunks with a heartbeat after each, and the
 * refusals (bad data, wrong digest, a model that is not loaded, a refused location) leaving no output behind.
 * The activity runs in Temporal's activity test environment, which records its heartbeats.
 */

const VERSION = 'churn@1.0.0';
const FIELDS = ['f0', 'f1', 'f2', 'f3'].map((name) => ({ name, type: 'number' as const, nullable: false }));

let dir: string;
let outputDir: string;
let trained: TrainedSklearnModel;
let mlserver: RunningMlserver;
let runtimes: Runtimes;
let scoreBatch: ReturnType<typeof batchScoringActivities>['scoreBatch'];

const csv = (rows: (number | string)[][]) => ['id,f0,f1,f2,f3', ...rows.map((r, i) => [`customer-${i + 1}`, ...r].join(','))].join('\n') + '\n';
const jsonl = (rows: number[][]) => rows.map((r, i) => JSON.stringify({ id: `customer-${i + 1}`, f0: r[0], f1: r[1], f2: r[2], f3: r[3] })).join('\n') + '\n';

async function writeInput(name: string, text: string): Promise<{ uri: string; sha256: string }> {
  const path = join(dir, name);
  await writeFile(path, text);
  return { uri: pathToFileURL(path).href, sha256: createHash('sha256').update(text).digest('hex') };
}

const request = (overrides: Partial<BatchScoringRequest> & Pick<BatchScoringRequest, 'batchId' | 'inputUri'>): BatchScoringRequest => ({
  modelVersionId: VERSION,
  deploymentTarget: 'lab',
  inputSchema: FIELDS,
  ...overrides,
});

/** Runs the activity as a worker would, collecting its heartbeats. */
async function run(req: BatchScoringRequest): Promise<{ result: BatchScoringResult; heartbeats: unknown[] }> {
  const env = new MockActivityEnvironment();
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  const result: BatchScoringResult = await env.run(scoreBatch, req);
  return { result, heartbeats };
}

async function failureOf(req: BatchScoringRequest): Promise<ApplicationFailure> {
  const failure = await new MockActivityEnvironment().run(scoreBatch, req).then(
    () => null,
    (e: unknown) => e,
  );
  expect(failure).toBeInstanceOf(ApplicationFailure);
  return failure as ApplicationFailure;
}

const predictionsIn = async (uri: string) =>
  (await readFile(fileURLToPath(uri), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { row: number; outputs: { predict: number } });

beforeAll(async () => {
  dir = await mkdtemp(join(TEST_ROOT, 'steward-batch-'));
  outputDir = join(dir, 'batch');
  trained = await trainSklearnModel(join(dir, 'trained'));
  mlserver = await startMlserver({ repository: join(dir, 'repository') });
  const targets = parseRuntimeTargets({ STEWARD_RUNTIMES: JSON.stringify({ lab: { kind: 'mlserver', url: mlserver.url, repository: mlserver.repository } }) });
  runtimes = createRuntimes(targets, { stage: createArtifactStager(testReadSettings()) });
  await runtimes.forTarget('lab').load({
    name: runtimeModelName(VERSION),
    modelVersionId: VERSION,
    version: '1.0.0',
    kind: 'ml',
    framework: 'sklearn',
    artifacts: [{ uri: pathToFileURL(trained.modelPath).href, sha256: trained.sha256, name: 'model' }],
    inputSchema: FIELDS,
    outputSchema: [{ name: 'label', type: 'integer', nullable: false }],
  });
  scoreBatch = batchScoringActivities({ runtimes, reading: testReadSettings(), outputDir }).scoreBatch;
}, 600_000);

afterAll(async () => {
  await runtimes?.close();
  await mlserver?.stop();
});

describe('batch scoring on the compute queue', () => {
  it("scores a CSV in chunks, heartbeating after each, and writes scikit-learn's predictions by row", async () => {
    const input = await writeInput('customers.csv', csv(trained.inputs));
    const { result, heartbeats } = await run(request({ batchId: 'customers-csv', inputUri: input.uri, chunkRows: 7 }));
    expect(result).toMatchObject({ rows: 20, inputSha256: input.sha256, outputUri: pathToFileURL(join(outputDir, 'customers-csv.jsonl')).href });
    const lines = await predictionsIn(result.outputUri);
    expect(lines.map((l) => l.row)).toEqual(trained.predictions.map((_, i) => i + 1));
    expect(lines.map((l) => l.outputs.predict)).toEqual(trained.predictions);
    expect(createHash('sha256').update(await readFile(fileURLToPath(result.outputUri))).digest('hex')).toBe(result.sha256);
    expect(heartbeats).toEqual([{ rowsScored: 7 }, { rowsScored: 14 }, { rowsScored: 20 }]);
  });

  it('scores JSON Lines with a declared digest, and the same batch again gives the same file', async () => {
    const input = await writeInput('customers.jsonl', jsonl(trained.inputs));
    const first = await run(request({ batchId: 'customers-jsonl', inputUri: input.uri, inputSha256: input.sha256 }));
    expect((await predictionsIn(first.result.outputUri)).map((l) => l.outputs.predict)).toEqual(trained.predictions);
    expect(first.heartbeats).toEqual([{ rowsScored: 20 }]);
    const again = await run(request({ batchId: 'customers-jsonl', inputUri: input.uri, inputSha256: input.sha256 }));
    expect(again.result).toEqual(first.result);
  });

  it('refuses a value that is not a number, naming the row and column, and keeps no output', async () => {
    const rows: (number | string)[][] = trained.inputs.map((r) => [...r]);
    rows[4]![2] = 'lots';
    const input = await writeInput('bad-value.csv', csv(rows));
    const failure = await failureOf(request({ batchId: 'bad-value', inputUri: input.uri, chunkRows: 2 }));
    expect(failure).toMatchObject({ type: 'DatasetProblem', nonRetryable: true, message: expect.stringContaining('row 5, column f2: "lots" is not a number') });
    expect((await readdir(outputDir)).filter((f) => f.includes('bad-value'))).toEqual([]);
  });

  it('refuses an input missing a field the model needs', async () => {
    const input = await writeInput('no-f3.jsonl', '{"f0": 1, "f1": 2, "f2": 3}\n');
    const failure = await failureOf(request({ batchId: 'no-f3', inputUri: input.uri }));
    expect(failure).toMatchObject({ type: 'DatasetProblem', nonRetryable: true, message: expect.stringContaining('no column f3') });
  });

  it('refuses an input whose digest is not the declared one, and keeps no output', async () => {
    const input = await writeInput('changed.csv', csv(trained.inputs));
    const failure = await failureOf(request({ batchId: 'changed', inputUri: input.uri, inputSha256: 'b'.repeat(64) }));
    expect(failure).toMatchObject({ type: 'DatasetProblem', nonRetryable: true, message: expect.stringContaining('b'.repeat(64)) });
    expect((await readdir(outputDir)).filter((f) => f.includes('changed'))).toEqual([]);
  });

  it('fails for good when the version is not loaded on its target, naming the rows and the runtime answer', async () => {
    const input = await writeInput('unloaded.csv', csv(trained.inputs));
    const failure = await failureOf(request({ batchId: 'unloaded', modelVersionId: 'churn@9.0.0', inputUri: input.uri }));
    expect(failure).toMatchObject({ type: 'RuntimeRefused', nonRetryable: true, message: expect.stringMatching(/churn@9\.0\.0 on lab, rows 1-20 .*404 Model churn-v9\.0\.0 not found/) });
  });

  it('reads only allowed locations and names an unknown target', async () => {
    await expect(new MockActivityEnvironment().run(scoreBatch, request({ batchId: 'outside', inputUri: 'file:///etc/passwd.csv' }))).rejects.toMatchObject({ type: 'UriNotAllowed' });
    const input = await writeInput('target.csv', csv(trained.inputs));
    await expect(new MockActivityEnvironment().run(scoreBatch, request({ batchId: 'target', deploymentTarget: 'nowhere', inputUri: input.uri }))).rejects.toThrow('unknown deployment target "nowhere"');
  });
});
