import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Lifecycles } from '../../api/lifecycles.js';
import { deploymentActivities } from '../../activities/deployment.js';
import { manifestSchema, type ModelManifest } from '../../core/manifest.js';
import { lifecycleWorkflowId, modelVersionId } from '../../core/model-id.js';
import type { Principal } from '../../core/principal.js';
import { runtimeModelName } from '../../runtimes/runtime.js';
import { retireSignal, retrainSignal, statusQuery } from '../../workflows/messages.js';
import { bundleWorkflows } from '../../workers/bundle.js';
import { createStewardWorker, type StewardWorker } from '../../workers/worker.js';
import { PIPELINE_PORT, retrainingTemplates } from '../fixtures/workflows/retraining.js';
import { writeArtifact } from '../harness/artifacts.js';
import { creditRows, seededRandom, writeCsv } from '../harness/datasets.js';
import { connectTestClient, createTestDatabase, eventually, startTestApi, terminateRunning, uniqueTaskQueue, type TestApi, type TestDatabase } from '../harness/index.js';
import { sampleManifest, SAMPLE_MODEL } from '../harness/manifests.js';
import { ensurePythonReference } from '../harness/python-reference.js';
import { testReadSettings, TEST_ROOT } from '../harness/reading.js';
import { sharedTestRuntime } from '../harness/runtimes.js';

/**
 * Retraining for real, on a real dev server, PostgreSQL and the built-in runtime: the command runner trains
 * the next version with examples/credit-scorer/retrain.py (scikit-learn from the reference venv), Steward
 * fingerprints the model it wrote, and the child goes through the test and scan gates, deploys and replaces
 * its parent, which is unloaded; a retrain that reproduces the parent's bytes creates no version; a webhook
 * pipeline's callback completes the waiting retrain even when it arrives while no worker runs.
 */

const run = promisify(execFile);
const erin: Principal = { id: 'erin', roles: ['engineer'] };

/** Labelled credit applications: default risk rises with debt-to-income and falls with income. */
function labelledRows(rows: number, seed: number) {
  const random = seededRandom(seed + 1000);
  return creditRows({ rows, seed }).map((r) => {
    const logit = -1.0 - 0.00004 * (r.income - 52_000) + 9 * (r.debt_to_income - 0.32);
    return { income: r.income, debt_to_income: r.debt_to_income, default: random() < 1 / (1 + Math.exp(-logit)) ? 1 : 0 };
  });
}

describe('retraining with runners', () => {
  let database: TestDatabase;
  let client: Client;
  let api: TestApi;
  let lifecycles: Lifecycles;
  let python: string;
  let taskQueue: string;
  let code: string;
  let outputDir: string;
  let worker: { worker: StewardWorker; running: Promise<void>; connection: NativeConnection } | null = null;
  let pipeline: Server;
  const jobs: Record<string, unknown>[] = [];

  const startWorker = async () => {
    const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    const w = await createStewardWorker({
      connection,
      namespace: 'default',
      taskQueue,
      db: database.db,
      evidence: database.evidence,
      workflowBundle: { code },
      // The pipeline listens on loopback.
      reading: testReadSettings({ privateNetworks: ['127.0.0.1/32'] }),
      runtimes: (await sharedTestRuntime()).runtimes,
      training: { outputDir, commands: { python }, callbackBaseUrl: api.baseUrl },
    });
    worker = { worker: w, running: w.run(), connection };
  };
  const stopWorker = async () => {
    if (!worker) return;
    worker.worker.shutdown();
    await worker.running;
    await worker.connection.close();
    worker = null;
  };

  beforeAll(async () => {
    taskQueue = uniqueTaskQueue('retraining');
    [{ python }, database, client, { code }] = await Promise.all([
      ensurePythonReference(),
      createTestDatabase(),
      connectTestClient(),
      bundleWorkflows(join(process.cwd(), 'test', 'fixtures', 'workflows', 'retraining.ts')),
    ]);
    outputDir = await mkdtemp(join(TEST_ROOT, 'steward-trained-'));
    api = await startTestApi({ client, database, taskQueue });
    lifecycles = new Lifecycles(client, taskQueue, undefined, retrainingTemplates);
    pipeline = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        jobs.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => pipeline.listen(PIPELINE_PORT, '127.0.0.1', resolve));
    await startWorker();
  }, 600_000);

  afterAll(async () => {
    await terminateRunning(client, taskQueue).catch(() => undefined);
    await stopWorker();
    await api?.close();
    await new Promise((r) => pipeline?.close(r));
    await client?.connection.close();
    await database?.drop();
  });

  const register = async (template: string, overrides: Partial<ModelManifest> = {}) => {
    const manifest = manifestSchema.parse(await sampleManifest({ template, ...overrides }));
    await lifecycles.register(manifest, erin);
    return manifest;
  };
  const stageOf = async (workflowId: string) => (await client.workflow.getHandle(workflowId).query(statusQuery)).stage;
  const inStage = (workflowId: string, stage: string, timeoutMs = 120_000) =>
    eventually(`${workflowId} in ${stage}`, async () => ((await stageOf(workflowId)) === stage ? true : undefined), { timeoutMs, intervalMs: 250 });
  const transitions = (modelVersion: string) =>
    database.db.selectFrom('stage_transitions').selectAll().where('model_version_id', '=', modelVersion).orderBy('seq').execute();
  const transition = (modelVersion: string, stage: string, step: string | null, outcome: string, timeoutMs = 180_000) =>
    eventually(
      `${modelVersion} to record ${stage}/${step}:${outcome}`,
      async () => (await transitions(modelVersion)).find((t) => t.stage === stage && t.step === step && t.outcome === outcome),
      { timeoutMs, intervalMs: 250 },
    );
  const serving = async (versionId: string) => (await sharedTestRuntime()).runtimes.forTarget('default').ready(runtimeModelName(versionId)).catch(() => false);

  it('trains the next version with the example script; the child passes its gates, replaces the parent, which is unloaded and can never deploy again', async () => {
    const data = await writeCsv('applications.csv', labelledRows(1200, 21));
    const parent = await register('trained', { trainingData: [{ uri: data.uri, sha256: data.sha256 }] });
    const parentId = modelVersionId(parent);
    await inStage(lifecycleWorkflowId(parent), 'monitor');
    expect(await serving(parentId)).toBe(true);

    await client.workflow.getHandle(lifecycleWorkflowId(parent)).signal(retrainSignal, { requestedBy: erin, reason: 'new quarter of applications' });
    const trained = await transition(parentId, 'retrain', 'training', 'passed');
    const detail = trained.detail as { artifacts: { uri: string; sha256: string; name?: string }[]; metrics: Record<string, number>; logDigest: string; trainingData: { uri: string }[] };
    // Steward's digest is the digest of the bytes the script wrote, and those bytes are a model the runtime reads.
    const [model] = detail.artifacts;
    const bytes = await readFile(fileURLToPath(model!.uri));
    expect(model!.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(model!.sha256).not.toBe(parent.artifacts[0]!.sha256);
    expect(JSON.parse(bytes.toString())).toMatchObject({ kind: 'linear', features: ['income', 'debt_to_income'], link: 'logistic' });
    expect(detail.metrics.auc).toBeGreaterThan(0.6);
    expect(detail.trainingData).toEqual([expect.objectContaining({ uri: data.uri, sha256: data.sha256 })]);
    const log = (await database.evidence.get(detail.logDigest)) as { stdout: string; exitCode: number };
    expect(log).toMatchObject({ exitCode: 0 });
    expect(log.stdout).toContain('training on 1200 rows');

    const child = { ...parent, version: '1.1.0' };
    const childId = modelVersionId(child);
    await inStage(lifecycleWorkflowId(child), 'monitor', 240_000);
    // The stage changes before its transition is projected into the catalog: wait for the row.
    const childPath = await eventually(
      `${childId} to record monitor:passed`,
      async () => {
        const path = (await transitions(childId)).map((t) => `${t.stage}${t.step && t.step !== t.stage ? `/${t.step}` : ''}:${t.outcome}`);
        return path.includes('monitor:passed') ? path : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(childPath.slice(0, 5)).toEqual(['register:passed', 'test:passed', 'scan:passed', 'deploy:passed', 'monitor:passed']);
    const row = await database.db.selectFrom('model_versions').select(['manifest', 'parent_id']).where('id', '=', childId).executeTakeFirstOrThrow();
    const childManifest = manifestSchema.parse(row.manifest);
    expect(row.parent_id).toBe(parentId);
    expect(childManifest.artifacts).toEqual([{ uri: model!.uri, sha256: model!.sha256, name: 'model' }]);
    expect(childManifest.metrics).toEqual(detail.metrics);
    const edges = await database.db.selectFrom('lineage_edges').selectAll().where('to_version_id', '=', childId).execute();
    expect(edges.map((e) => e.kind).sort()).toEqual(expect.arrayContaining(['retrained_from', 'trained_on']));
    expect(await serving(childId)).toBe(true);

    // The parent is superseded, retired and unloaded; it can never be deployed again.
    const result = await client.workflow.getHandle(lifecycleWorkflowId(parent)).result();
    expect(result).toMatchObject({ endedBy: 'superseded' });
    expect(await serving(parentId)).toBe(false);
    const retired = await transition(parentId, 'retire', null, 'completed');
    expect(retired.detail).toMatchObject({ endedBy: 'superseded', lineage: { parent: null, artifacts: [parent.artifacts[0]!.sha256], successor: lifecycleWorkflowId(child) } });
    const deploy = deploymentActivities(database.db, (await sharedTestRuntime()).runtimes);
    const again = new MockActivityEnvironment().run(deploy.deployVersion, {
      deploymentId: `${lifecycleWorkflowId(parent)}/deploy-again`,
      modelName: parent.name,
      modelVersionId: parentId,
      target: 'default',
      at: new Date().toISOString(),
    });
    await expect(again).rejects.toThrow(`${parentId} is retired and can never be deployed again`);
    expect(await serving(parentId)).toBe(false);
    await client.workflow.getHandle(lifecycleWorkflowId(child)).signal(retireSignal, { requestedBy: erin, reason: 'test over' });
  }, 600_000);

  it('creates no version when the retrain reproduces the parent’s bytes, and says why', async () => {
    const data = await writeCsv('applications.csv', labelledRows(600, 33));
    // The parent is what the script makes of this data already.
    const out = await mkdtemp(join(TEST_ROOT, 'steward-parent-'));
    await run(python, ['examples/credit-scorer/retrain.py', '--data', fileURLToPath(data.uri), '--out', out]);
    const artifact = await writeArtifact('model.json', await readFile(join(out, 'model.json')));
    const parent = await register('trained', { trainingData: [{ uri: data.uri, sha256: data.sha256 }], artifacts: [{ ...artifact, name: 'model' }] });
    const parentId = modelVersionId(parent);
    await inStage(lifecycleWorkflowId(parent), 'monitor');

    await client.workflow.getHandle(lifecycleWorkflowId(parent)).signal(retrainSignal, { requestedBy: erin, reason: 'nothing changed' });
    const unchanged = await transition(parentId, 'retrain', 'training', 'unchanged');
    expect((unchanged.detail as { problem: string }).problem).toContain("the training run produced the parent's bytes again");
    await inStage(lifecycleWorkflowId(parent), 'monitor');
    await expect(client.workflow.getHandle(lifecycleWorkflowId({ ...parent, version: '1.1.0' })).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    expect((await client.workflow.getHandle(lifecycleWorkflowId(parent)).query(statusQuery)).successor).toBeNull();
    expect(await serving(parentId)).toBe(true);
    await client.workflow.getHandle(lifecycleWorkflowId(parent)).signal(retireSignal, { requestedBy: erin, reason: 'test over' });
    await client.workflow.getHandle(lifecycleWorkflowId(parent)).result();
    expect(await serving(parentId)).toBe(false);
  }, 600_000);

  it('waits for a webhook pipeline’s callback, which completes the retrain though it arrives while no worker runs', async () => {
    const parent = await register('piped');
    const parentId = modelVersionId(parent);
    await inStage(lifecycleWorkflowId(parent), 'monitor');
    await client.workflow.getHandle(lifecycleWorkflowId(parent)).signal(retrainSignal, { requestedBy: erin, reason: 'pipeline retrain' });
    const job = await eventually('the pipeline job', async () => jobs.find((j) => j.model === parent.name), { timeoutMs: 120_000 });
    expect(job).toMatchObject({ parentVersion: '1.0.0', version: '1.0.1', trigger: { kind: 'manual' }, reason: 'pipeline retrain' });
    const callbackUrl = String(job.callbackUrl);
    const path = new URL(callbackUrl).pathname;
    expect(path).toMatch(/^\/training\/callbacks\/[A-Za-z0-9_-]{43}$/);
    // The task token is not in the URL; only the digest of the callback token is stored.
    const stored = await database.db.selectFrom('training_callbacks').selectAll().where('workflow_id', '=', lifecycleWorkflowId(parent)).executeTakeFirstOrThrow();
    expect(stored.token_sha256).toBe(createHash('sha256').update(path.split('/').at(-1)!).digest('hex'));

    await stopWorker();
    const retrained = await writeArtifact('model.json', JSON.stringify({ ...SAMPLE_MODEL, coefficients: [-0.00003, 7.1], intercept: -1.1 }));
    expect((await api.call('POST', path, { body: { status: 'succeeded', artifacts: [{ uri: retrained.uri }], metrics: { auc: 'high' } } })).body.error).toMatchObject({
      message: expect.stringContaining('metrics'),
    });
    expect((await api.call('POST', '/training/callbacks/' + 'x'.repeat(43), { body: { status: 'failed', reason: 'no' } })).status).toBe(404);
    const accepted = await api.call('POST', path, { body: { status: 'succeeded', artifacts: [{ uri: retrained.uri, name: 'model' }], metrics: { auc: 0.83 }, runId: 'pipeline-run-7' } });
    expect(accepted).toMatchObject({ status: 202, body: { accepted: 'succeeded' } });
    expect((await api.call('POST', path, { body: { status: 'failed', reason: 'late' } })).status).toBe(409);
    await startWorker();

    const trained = await transition(parentId, 'retrain', 'training', 'passed');
    expect(trained.detail).toMatchObject({ artifacts: [{ uri: retrained.uri, sha256: retrained.sha256, name: 'model' }], metrics: { auc: 0.83 }, summary: { pipelineRun: 'pipeline-run-7' } });
    const child = { ...parent, version: '1.0.1' };
    await inStage(lifecycleWorkflowId(child), 'monitor', 240_000);
    expect(await client.workflow.getHandle(lifecycleWorkflowId(parent)).result()).toMatchObject({ endedBy: 'superseded' });
    expect(await serving(modelVersionId(child))).toBe(true);
    await client.workflow.getHandle(lifecycleWorkflowId(child)).signal(retireSignal, { requestedBy: erin, reason: 'test over' });
  }, 600_000);
});
