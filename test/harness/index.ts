import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import pg from 'pg';
import { inject } from 'vitest';
import { openCatalog, type CatalogDb } from '../../catalog/db.js';
import { migrateToLatest } from '../../catalog/migrate.js';
import { ContentStore } from '../../evidence/content-store.js';
import { createStewardWorker, type StewardWorker } from '../../workers/worker.js';
import './provided-context.js';
import { buildApi } from '../../api/server.js';
import { Lifecycles } from '../../api/lifecycles.js';
import type { TemplateRegistry } from '../../workflows/dsl/registry.js';
import { bundleWorkflows } from '../../workers/bundle.js';
import type { LifecyclePolicy } from '../../core/policy.js';
import type { JwtSettings } from '../../api/authn.js';
import type { ReadSettings } from '../../activities/read-uri.js';
import type { Runtimes } from '../../runtimes/targets.js';
import type { GatewayOptions } from '../../api/gateway/index.js';
import { sharedTestRuntime } from './runtimes.js';
import { testReadSettings } from './reading.js';

// Quiet the SDK's own logging in tests; failures surface through assertions. A test file may install its own
// Runtime first (test/harness/sdk-metrics.ts: SDK metrics served in-process); there can be only one.
if (Runtime._instance === undefined) Runtime.install({ logger: new DefaultLogger('WARN') });

const suffix = () => randomBytes(4).toString('hex');

/** A task queue of its own, so test files never steal each other's tasks. */
export function uniqueTaskQueue(name: string): string {
  return `test-${name}-${suffix()}`;
}

export interface TestDatabase {
  readonly url: string;
  readonly db: CatalogDb;
  /** The content store that goes with this catalog (full reports). */
  readonly evidence: ContentStore;
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own on the run's PostgreSQL server (or on `adminUrl`'s). */
export async function createTestDatabase(adminUrl: string = inject('databaseUrl')): Promise<TestDatabase> {
  const name = `steward_test_${suffix()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = await openCatalog({ kind: 'postgres', url: url.toString() });
  await migrateToLatest(db);
  const evidenceDir = await mkdtemp(join(tmpdir(), 'steward-evidence-'));
  const evidence = new ContentStore(evidenceDir);
  return {
    url: url.toString(),
    db,
    evidence,
    async drop() {
      await db.destroy();
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
      await rm(evidenceDir, { recursive: true, force: true });
    },
  };
}

export async function connectTestClient(): Promise<Client> {
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  return new Client({ connection, namespace: 'default' });
}

export interface RunningWorker {
  readonly worker: StewardWorker;
  stop(): Promise<void>;
}

/** A real Steward worker on the run's dev server, using the bundle built once in global setup. */
export async function startTestWorker(options: {
  database: TestDatabase;
  taskQueue: string;
  workflowBundle?: { code: string };
  reading?: ReadSettings;
  /** Where deployments load; the test file's shared built-in runtime when absent. */
  runtimes?: Runtimes;
  /** How long a retirement drains before it unloads (the default gateway TTL's when absent). */
  routingDrainMs?: number;
}): Promise<RunningWorker> {
  const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const code = options.workflowBundle?.code ?? (await readFile(inject('workflowBundlePath'), 'utf8'));
  const worker = await createStewardWorker({
    connection,
    namespace: 'default',
    taskQueue: options.taskQueue,
    db: options.database.db,
    evidence: options.database.evidence,
    workflowBundle: { code },
    reading: options.reading ?? testReadSettings(),
    runtimes: options.runtimes ?? (await sharedTestRuntime()).runtimes,
    ...(options.routingDrainMs !== undefined ? { routingDrainMs: options.routingDrainMs } : {}),
  });
  const running = worker.run();
  return {
    worker,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

/** Terminates every lifecycle still running on the task queue, so nothing outlives its test. */
export async function terminateRunning(client: Client, taskQueue: string, reason = 'test over'): Promise<void> {
  for await (const w of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
    await client.workflow.getHandle(w.workflowId).terminate(reason).catch(() => undefined);
  }
}

/** Polls `probe` until it returns a value other than undefined, or fails naming what it waited for. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { timeoutMs = 30_000, intervalMs = 100 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

export interface TestApi {
  readonly baseUrl: string;
  /** fetch against the API with an optional bearer token; returns status and parsed JSON. */
  call(method: string, path: string, options?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  close(): Promise<void>;
}

/** The real Fastify API listening on a loopback port, talking to the real dev server. */
export async function startTestApi(options: {
  client: Client;
  database: TestDatabase;
  taskQueue: string;
  policy?: LifecyclePolicy;
  rateLimitPerMinute?: number;
  jwt?: JwtSettings;
  reading?: ReadSettings;
  /** The scoring gateway's runtimes and windows. */
  gateway?: GatewayOptions;
}): Promise<TestApi> {
  const { database, reading = testReadSettings(), ...rest } = options;
  // Tests make many requests a minute; the rate-limit test sets its own low limit.
  const app = await buildApi({ rateLimitPerMinute: 100_000, ...rest, readPolicy: reading.policy, db: database.db, evidence: database.evidence, logger: false });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    baseUrl: address,
    async call(method, path, { token, body, headers } = {}) {
      const res = await fetch(`${address}${path}`, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      const json = res.headers.get('content-type')?.includes('json') ?? false;
      return { status: res.status, body: text ? (json ? JSON.parse(text) : text) : null };
    },
    close: () => app.close(),
  };
}

export interface TestStack {
  readonly client: Client;
  readonly database: TestDatabase;
  readonly taskQueue: string;
  readonly api: TestApi;
  /** The current worker; `restartWorker` replaces it. */
  worker: RunningWorker;
  restartWorker(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The usual integration setup in one call: a database of its own, a client, a worker on a task queue of its
 * own and the API over HTTP. `stop` terminates what the stack left running and tears everything down.
 */
export async function startTestStack(
  name: string,
  options: { policy?: LifecyclePolicy; rateLimitPerMinute?: number; jwt?: JwtSettings; reading?: ReadSettings } = {},
): Promise<TestStack> {
  const taskQueue = uniqueTaskQueue(name);
  const database = await createTestDatabase();
  const client = await connectTestClient();
  const reading = options.reading ?? testReadSettings();
  const worker = await startTestWorker({ database, taskQueue, reading });
  const api = await startTestApi({ client, database, taskQueue, ...options, reading });
  const stack: TestStack = {
    client,
    database,
    taskQueue,
    api,
    worker,
    async restartWorker() {
      await stack.worker.stop();
      stack.worker = await startTestWorker({ database, taskQueue, reading });
    },
    async stop() {
      await terminateRunning(client, taskQueue);
      await api.close();
      await stack.worker.stop();
      await client.connection.close();
      await database.drop();
    },
  };
  return stack;
}

export interface BundledLifecycles {
  readonly client: Client;
  readonly database: TestDatabase;
  readonly lifecycles: Lifecycles;
  stop(): Promise<void>;
}

/**
 * A worker running a test bundle of its own (`test/fixtures/workflows/<entry>`, e.g. templates with seconds
 * where real ones have days) on its own task queue and database, and Lifecycles over that bundle's registry.
 */
export async function startBundledLifecycles(name: string, entry: string, registry: TemplateRegistry): Promise<BundledLifecycles> {
  const taskQueue = uniqueTaskQueue(name);
  const bundle = await bundleWorkflows(join(process.cwd(), 'test', 'fixtures', 'workflows', entry));
  const database = await createTestDatabase();
  const client = await connectTestClient();
  const worker = await startTestWorker({ database, taskQueue, workflowBundle: bundle });
  return {
    client,
    database,
    lifecycles: new Lifecycles(client, taskQueue, undefined, registry),
    async stop() {
      await worker.stop();
      await client.connection.close();
      await database.drop();
    },
  };
}
