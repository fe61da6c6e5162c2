import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createApiToken } from '../../api/tokens.js';
import { sampleManifest } from '../harness/manifests.js';
import { createTestDatabase, eventually, uniqueTaskQueue, type TestDatabase } from '../harness/index.js';
import { freePort } from '../harness/ports.js';
import { TEST_ROOT } from '../harness/reading.js';
import { sharedTestRuntime } from '../harness/runtimes.js';

/**
 * The scale topology's metrics: `workers/main.ts` serves the Temporal SDK's Prometheus text at
 * STEWARD_WORKER_METRICS_ADDRESS, and `api/main.ts` given the same address appends it to Steward's own.
 */
describe('metrics of worker and API processes', () => {
  let database: TestDatabase;
  const children: ChildProcess[] = [];
  const logs: string[] = [];
  let apiUrl: string;
  let metricsAddress: string;

  function start(entry: string, env: NodeJS.ProcessEnv): void {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => logs.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
    children.push(child);
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    const port = await freePort();
    metricsAddress = `127.0.0.1:${await freePort()}`;
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: uniqueTaskQueue('metrics-processes'),
      DATABASE_URL: database.url,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      STEWARD_EVIDENCE_DIR: database.evidence.dir,
      // Deployments load into a real built-in runtime this test process runs.
      STEWARD_RUNTIMES: (await sharedTestRuntime()).env,
      STEWARD_READ_ROOTS: TEST_ROOT,
      STEWARD_WORKER_METRICS_ADDRESS: metricsAddress,
    };
    start('workers/main.ts', env);
    start('api/main.ts', env);
    apiUrl = `http://127.0.0.1:${port}`;
    await eventually('the API process to answer', async () => ((await fetch(`${apiUrl}/health`)).ok ? true : undefined), { timeoutMs: 60_000 });
  });

  afterAll(async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    await database?.drop();
  });

  it("serves the SDK's metrics from the worker and both kinds from the API after a lifecycle reaches its gate", async () => {
    const token = await createApiToken(database.db, 'erin', ['engineer']);
    const manifest = await sampleManifest({ name: 'metered' });
    const res = await fetch(`${apiUrl}/models`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(manifest),
    });
    expect(res.status, logs.join('')).toBeLessThan(300);
    const id = `${manifest.name}@1.0.0`;
    await eventually(
      'the approval gate in the catalog',
      async () => ((await database.db.selectFrom('model_versions').select('stage').where('id', '=', id).executeTakeFirst())?.stage === 'approval' ? true : undefined),
      { timeoutMs: 60_000 },
    );

    const worker = await (await fetch(`http://${metricsAddress}/metrics`)).text();
    expect(worker).toMatch(/^temporal_activity_execution_latency_bucket\{.*activity_type="registerVersion"/m);

    expect((await fetch(`${apiUrl}/metrics`)).status).toBe(401);
    const api = await (await fetch(`${apiUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    expect(api).toMatch(/^steward_lifecycles\{stage="approval"\} 1$/m);
    expect(api).toMatch(/^steward_gate_outcomes_total\{stage="scan",.*outcome="passed"\} 1$/m);
    expect(api).toMatch(/^steward_sdk_metrics_up 1$/m);
    expect(api).toMatch(/^temporal_workflow_task_execution_latency_bucket\{/m);
  });
});
