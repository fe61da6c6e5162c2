import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Lifecycles } from '../../api/lifecycles.js';
import { createApiToken } from '../../api/tokens.js';
import { manifestSchema } from '../../core/manifest.js';
import { defaultApprovalPolicy, defaultPolicy, type LifecyclePolicy } from '../../core/policy.js';
import type { LifecycleResult } from '../../workflows/lifecycle.js';
import { statusQuery } from '../../workflows/messages.js';
import { settledHistoryLength } from '../harness/history.js';
import { sampleManifest } from '../harness/manifests.js';
import { connectTestClient, createTestDatabase, eventually, uniqueTaskQueue, type TestDatabase } from '../harness/index.js';
import { freePort } from '../harness/ports.js';
import { TEST_ROOT } from '../harness/reading.js';
import { sharedTestRuntime } from '../harness/runtimes.js';

/**
 * The scale-path entry points as separate processes, configured only by environment: `workers/main.ts` and
 * `api/main.ts` against the run's Temporal server and a PostgreSQL catalog.
 */
describe('worker and API as separate processes', () => {
  let database: TestDatabase;
  const children: ChildProcess[] = [];
  const logs: string[] = [];
  let apiUrl: string;
  let env: NodeJS.ProcessEnv;

  function start(entry: string, env: NodeJS.ProcessEnv): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => logs.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
    children.push(child);
    return child;
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    const port = await freePort();
    env = {
      ...process.env,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: uniqueTaskQueue('processes'),
      DATABASE_URL: database.url,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      STEWARD_EVIDENCE_DIR: database.evidence.dir,
      // Deployments load into a real built-in runtime this test process runs.
      STEWARD_RUNTIMES: (await sharedTestRuntime()).env,
      // sampleManifest writes its artifacts under the temp dir.
      STEWARD_READ_ROOTS: TEST_ROOT,
    };
    start('workers/main.ts', env);
    start('api/main.ts', env);
    apiUrl = `http://127.0.0.1:${port}`;
    await eventually('the API process to answer', async () => ((await fetch(`${apiUrl}/health`)).ok ? true : undefined), {
      timeoutMs: 60_000,
    });
  });

  afterAll(async () => {
    // Graceful stop first; a process still alive after 10 s is killed.
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

  it('registers through the API process and the worker process runs the lifecycle to its approval gate', async () => {
    const token = await createApiToken(database.db, 'erin', ['engineer']);
    const manifest = await sampleManifest({ name: 'procs' });
    const name = manifest.name;
    const res = await fetch(`${apiUrl}/models`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(manifest),
    });
    expect(res.status).toBe(201);
    const row = await eventually(
      'the catalog row at the approval stage',
      async () => {
        const r = await database.db.selectFrom('model_versions').selectAll().where('name', '=', name).executeTakeFirst();
        return r?.stage === 'approval' ? r : undefined;
      },
      { timeoutMs: 60_000 },
    ).catch((err) => {
      throw new Error(`${err}\n${logs.join('')}`);
    });
    expect(row.registered_by).toBe('erin');
  });

  it('fires an approval deadline after the worker process was killed (SIGKILL) and restarted', async () => {
    const client = await connectTestClient();
    try {
      const policy: LifecyclePolicy = {
        ...defaultPolicy,
        approval: {
          ...defaultApprovalPolicy,
          deadline: { timeoutMs: 2000, remindAfterMs: [], escalateAfterMs: null, escalationGroup: null, onTimeout: { action: 'reject' } },
        },
      };
      const lifecycles = new Lifecycles(client, env.TEMPORAL_TASK_QUEUE!, policy);
      const manifest = manifestSchema.parse(await sampleManifest({ name: 'killed' }));
      const { workflowId } = await lifecycles.register(manifest, { id: 'erin', roles: ['engineer'] });
      const handle = client.workflow.getHandle(workflowId);
      await eventually('the gate to open', async () => ((await handle.query(statusQuery)).gate ? true : undefined), { timeoutMs: 60_000 });
      await settledHistoryLength(client, workflowId);

      const worker = children[0]!;
      const killed = new Promise((resolve) => worker.once('exit', resolve));
      worker.kill('SIGKILL');
      await killed;
      // The deadline comes due with no worker alive: the server fires its timer; the new worker finds it in history.
      await eventually('the deadline timer to fire while no worker runs', async () =>
        (await handle.fetchHistory()).events?.some((e) => e.timerFiredEventAttributes) ? true : undefined,
      );
      start('workers/main.ts', env);

      const result: LifecycleResult = await handle.result();
      expect(result.endedBy).toBe('expired');
    } finally {
      await client.connection.close();
    }
  });
});
