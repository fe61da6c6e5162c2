import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApiToken } from '../../api/tokens.js';
import { manifestSchema } from '../../core/manifest.js';
import type { InferenceRequest, InferenceResponse } from '../../runtimes/protocol.js';
import { runtimeModelName } from '../../runtimes/runtime.js';
import { statusQuery } from '../../workflows/messages.js';
import { startFaultProxy, type FaultProxy, type Interceptor } from '../harness/fault-proxy.js';
import { connectTestClient, createTestDatabase, eventually, terminateRunning, uniqueTaskQueue, type TestDatabase, startTestApi, type TestApi } from '../harness/index.js';
import { sampleManifest } from '../harness/manifests.js';
import { TEST_ROOT } from '../harness/reading.js';
import { startTestRuntime, type TestRuntime } from '../harness/runtimes.js';
import { startProcess, type StewardProcess } from '../fuzz/stack.js';

/**
 * The kill test: the worker runs as its own process (`workers/main.ts`, configured by environment, as in
 * production) and is SIGKILLed at the start, in the middle and at the end of a deploy activity, caught by a
 * proxy between it and a real built-in runtime. A new worker process takes over; the deploy is retried once
 * the killed attempt's heartbeat times out (30 s), and must leave exactly one copy loaded, one deployment row,
 * and a model that answers.
 *
 * The cases run in order and share workers: the worker that finishes one case is the one killed in the next.
 */
type KillPoint = 'start' | 'middle' | 'end';

const scoring: InferenceRequest = {
  inputs: [
    { name: 'income', shape: [2], datatype: 'FP64', data: [42_000, 23_000] },
    { name: 'debt_to_income', shape: [2], datatype: 'FP64', data: [0.31, 0.58] },
  ],
};

describe('SIGKILL of the worker during a deploy', () => {
  let runtime: TestRuntime;
  let proxy: FaultProxy;
  let database: TestDatabase;
  let client: Client;
  let api: TestApi;
  let base: string;
  let engineer: string;
  let approver: string;
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  /** Every worker process started, the last one current. */
  const workers: StewardProcess[] = [];
  const current = () => workers.at(-1)!;

  /** Starts a worker process and waits until it polls its task queue. */
  async function startWorker(): Promise<StewardProcess> {
    const proc = startProcess(`worker ${workers.length + 1}`, 'workers/main.ts', env);
    workers.push(proc);
    await eventually('the worker process started', async () => {
      if (proc.exited) throw new Error(`exited: ${JSON.stringify(proc.exited)}\n${proc.lines.slice(-30).join('\n')}`);
      return proc.lines.some((l) => l.includes('"worker started"')) ? true : undefined;
    }, { timeoutMs: 90_000, intervalMs: 200 }).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${proc.lines.slice(-30).join('\n')}`);
    });
    return proc;
  }

  async function sigkill(proc: StewardProcess): Promise<void> {
    if (!proc.exited) {
      const exited = new Promise((resolve) => proc.child.once('exit', resolve));
      proc.child.kill('SIGKILL');
      await exited;
    }
  }

  beforeAll(async () => {
    runtime = await startTestRuntime();
    proxy = await startFaultProxy(runtime.url);
    [database, client] = await Promise.all([createTestDatabase(), connectTestClient()]);
    dataDir = await mkdtemp(join(tmpdir(), 'steward-kill-data-'));
    const taskQueue = uniqueTaskQueue('deploy-kill');
    env = {
      ...process.env,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: taskQueue,
      DATABASE_URL: database.url,
      LOG_LEVEL: 'info',
      STEWARD_DATA_DIR: dataDir,
      STEWARD_EVIDENCE_DIR: database.evidence.dir,
      STEWARD_READ_ROOTS: TEST_ROOT,
      // The worker reaches the runtime only through the proxy, which decides when it dies.
      STEWARD_RUNTIMES: JSON.stringify({ default: { kind: 'builtin', url: proxy.url, repository: runtime.repository } }),
    };
    api = await startTestApi({
      client,
      database,
      taskQueue,
      // The gateway scores on the runtime directly.
      gateway: { windowMs: 60_000, runtimeFor: (target) => (target === 'default' ? runtime.runtimes.forTarget('default') : undefined) },
    });
    base = api.baseUrl;
    engineer = await createApiToken(database.db, 'erin', ['engineer']);
    approver = await createApiToken(database.db, 'ava', ['approver:risk']);
    await startWorker();
  }, 150_000);

  afterAll(async () => {
    if (client) await terminateRunning(client, env.TEMPORAL_TASK_QUEUE!).catch(() => undefined);
    for (const w of workers) await w.stop();
    await api?.close();
    await client?.connection.close();
    await proxy?.close();
    await runtime?.close();
    await database?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const call = async (method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };

  const loadsOf = (name: string) => proxy.log.filter((e) => e.method === 'POST' && e.path === `/v2/repository/models/${name}/load` && e.outcome === 'passed').length;

  /** What the test saw when the worker died. */
  interface AtKill {
    readonly request: string;
    /** The version's state in the runtime's repository index (read directly, not through the proxy). */
    readonly runtimeState: string | null;
    readonly deploymentRows: number;
    /** Loads of the version that had reached the runtime. */
    readonly loads: number;
  }

  /**
   * Arms the proxy to kill the current worker at `point` of the deploy of `name` (a runtime model name), and
   * resolves with what was true at that moment.
   */
  function killAt(point: KillPoint, name: string, modelVersionId: string): Promise<AtKill> {
    return new Promise((resolve, reject) => {
      let fired = false;
      const victim = current();
      const observe = async (request: string): Promise<AtKill> => {
        const entry = (await runtime.runtimes.forTarget('default').index()).find((e) => e.name === name);
        const rows = await database.db.selectFrom('deployments').select('id').where('model_version_id', '=', modelVersionId).execute();
        return { request, runtimeState: entry?.state ?? null, deploymentRows: rows.length, loads: loadsOf(name) };
      };
      const kill = async (request: string) => {
        await sigkill(victim);
        resolve(await observe(request));
      };
      const intercept: Interceptor = async (req) => {
        const path = req.path.split('?')[0]!;
        const about = path.startsWith(`/v2/models/${name}/`) || path.startsWith(`/v2/repository/models/${name}/`);
        if (fired || !about) return { action: 'pass' };
        const what = `${req.method} ${path}`;
        try {
          if (point === 'start') {
            // The activity's first call to the runtime: it dies before anything reaches the runtime.
            fired = true;
            await kill(what);
            return { action: 'drop' };
          }
          if (!path.endsWith('/load')) return { action: 'pass' };
          fired = true;
          if (point === 'middle') {
            // The load is held here until the worker is dead, then reaches the runtime with nobody waiting.
            await kill(what);
            return { action: 'pass' };
          }
          // The runtime has loaded the model; the worker dies before it hears so.
          return { action: 'pass', afterResponse: () => kill(what) };
        } catch (err) {
          reject(err as Error);
          return { action: 'drop' };
        }
      };
      proxy.intercept = intercept;
    });
  }

  it.each<KillPoint>(['start', 'middle', 'end'])(
    'leaves exactly one loaded copy and one deployment after a kill at the %s of the deploy activity',
    async (point) => {
      const started = Date.now();
      const manifest = manifestSchema.parse(await sampleManifest({ name: `kill-${point}`, riskTier: 'medium' }));
      const modelVersionId = `${manifest.name}@${manifest.version}`;
      const name = runtimeModelName(modelVersionId);
      const killed = killAt(point, name, modelVersionId);

      const registered = await call('POST', '/models', engineer, manifest);
      expect(registered.status, JSON.stringify(registered.body)).toBe(201);
      // The standard template: one risk approver, then the version replaces the champion at once.
      await eventually('the approval accepted', async () => {
        const res = await call('POST', `/models/${modelVersionId}/approvals`, approver, { decision: 'approve' }, { 'idempotency-key': `approve-${point}-${Date.now()}` });
        return res.status === 200 ? res.body : undefined;
      }, { timeoutMs: 60_000, intervalMs: 250 });

      const atKill = await killed;
      const victim = workers.at(-1)!;
      expect(victim.exited?.signal).toBe('SIGKILL');
      // What was true when the worker died: nothing recorded yet; the model loaded only at the end.
      expect(atKill.deploymentRows).toBe(0);
      expect(atKill.request).toMatch(point === 'start' ? new RegExp(`^GET /v2/models/${name}/ready$`) : new RegExp(`^POST /v2/repository/models/${name}/load$`));
      expect(atKill.runtimeState === 'READY').toBe(point === 'end');
      expect(atKill.loads).toBe(point === 'end' ? 1 : 0);

      // A new worker process takes over; the killed attempt is retried once its heartbeat times out.
      await startWorker();
      const handle = client.workflow.getHandle(registered.body.workflowId as string);
      await eventually('the lifecycle in production', async () => ((await handle.query(statusQuery)).stage === 'monitor' ? true : undefined), {
        timeoutMs: 120_000,
        intervalMs: 500,
      }).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${current().lines.slice(-30).join('\n')}`);
      });

      // Exactly one deployment row, live.
      const rows = await database.db.selectFrom('deployments').selectAll().where('model_version_id', '=', modelVersionId).execute();
      expect(rows.map((r) => [r.strategy, r.target, r.to_time])).toEqual([['replace', 'default', null]]);
      // Exactly one copy in the runtime, ready.
      const direct = runtime.runtimes.forTarget('default');
      expect((await direct.index()).filter((e) => e.name === name)).toEqual([expect.objectContaining({ name, state: 'READY' })]);
      // The deploy activity was retried after the kill, and a retry did complete it.
      const history = await handle.fetchHistory();
      const scheduled = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'deployVersion');
      expect(scheduled).toHaveLength(1);
      const attempt = (history.events ?? []).find((e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === scheduled[0]!.eventId?.toString())?.activityTaskStartedEventAttributes;
      expect(attempt?.attempt).toBeGreaterThanOrEqual(2);
      expect(attempt?.lastFailure?.message ?? '').toMatch(/heartbeat/i);

      // It answers, through the gateway and directly, the same.
      const straight = await direct.infer(name, scoring);
      const res = await fetch(`${base}/v2/models/${manifest.name}/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${engineer}` },
        body: JSON.stringify(scoring),
      });
      const through = (await res.json()) as InferenceResponse;
      expect(res.status).toBe(200);
      expect(through).toMatchObject({ model_name: manifest.name, model_version: '1.0.0' });
      expect(through.outputs).toEqual(straight.outputs);

      const loads = loadsOf(name);
      console.info(`kill at ${point}: ${atKill.request}; loads reaching the runtime ${atKill.loads} at the kill, ${loads} in all; deploy completed on attempt ${attempt?.attempt}; ${Date.now() - started} ms`);
      proxy.intercept = null;
    },
    240_000,
  );
});
