import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Lifecycles } from '../../api/lifecycles.js';
import { manifestSchema } from '../../core/manifest.js';
import { defaultPolicy } from '../../core/policy.js';
import { sampleManifest } from '../harness/manifests.js';
import { connectTestClient, createTestDatabase, eventually, terminateRunning, uniqueTaskQueue, type TestDatabase } from '../harness/index.js';
import { TEST_ROOT } from '../harness/reading.js';

const GRACE_SECONDS = 2;
/** Start-up of the SDK's shutdown, closing connections and the process itself. */
const MARGIN_MS = 8000;

/**
 * The real worker process (`workers/main.ts`) stops on SIGTERM within its grace period even while an activity
 * is reading an artifact that never ends: the read is cancelled, the connection dropped, and the process exits.
 */
describe('worker process shutdown', () => {
  let database: TestDatabase;
  let client: Client;
  let server: Server;
  let worker: ChildProcess | undefined;
  const taskQueue = uniqueTaskQueue('shutdown');
  const logs: string[] = [];
  const requests: string[] = [];
  const closed: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    client = await connectTestClient();
    // One byte a second, for ever.
    server = createServer((req, res) => {
      requests.push(req.url ?? '/');
      res.on('close', () => closed.push(req.url ?? '/'));
      res.writeHead(200);
      res.write('x');
      const timer = setInterval(() => res.write('x'), 1000);
      res.on('close', () => clearInterval(timer));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });

  afterAll(async () => {
    if (worker && worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    await terminateRunning(client, taskQueue);
    await client?.connection.close();
    server?.closeAllConnections();
    server?.close();
    await database?.drop();
  });

  it('exits within the grace period on SIGTERM while a scan trickles, dropping the connection', async () => {
    worker = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_NAMESPACE: 'default',
        TEMPORAL_TASK_QUEUE: taskQueue,
        DATABASE_URL: database.url,
        STEWARD_EVIDENCE_DIR: database.evidence.dir,
        LOG_LEVEL: 'info',
        STEWARD_READ_ROOTS: TEST_ROOT,
        STEWARD_READ_SCHEMES: 'file,http',
        STEWARD_ALLOW_PRIVATE_NETWORKS: '127.0.0.1/32',
        STEWARD_SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (d: Buffer) => logs.push(d.toString()));
    worker.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
    const exited = once(worker, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

    const port = (server.address() as AddressInfo).port;
    const manifest = manifestSchema.parse(await sampleManifest({ name: 'trickle', artifacts: [{ uri: `http://127.0.0.1:${port}/model.bin`, sha256: 'a'.repeat(64) }] }));
    await new Lifecycles(client, taskQueue, defaultPolicy).register(manifest, { id: 'erin', roles: ['engineer'] });
    await eventually('the worker to start reading the artifact', async () => (requests.length > 0 ? true : undefined), { timeoutMs: 60_000 }).catch((err) => {
      throw new Error(`${err}\n${logs.join('')}`);
    });

    const signalled = Date.now();
    worker.kill('SIGTERM');
    const deadline = new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), GRACE_SECONDS * 1000 + MARGIN_MS).unref());
    const outcome = await Promise.race([exited, deadline]);
    expect(outcome, logs.join('')).not.toBe('still running');
    expect(Date.now() - signalled).toBeLessThan(GRACE_SECONDS * 1000 + MARGIN_MS);
    expect(outcome).toEqual([0, null]);
    await expect.poll(() => closed.length).toBe(requests.length);
  });
});
