import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import type { LifecyclePolicy } from '../core/policy.js';
import { startDevServer } from '../platform/temporal-dev-server.js';
import { createStewardWorker } from '../workers/worker.js';
import { startPostgresCluster } from '../test/harness/postgres-cluster.js';
import { createTestDatabase, startTestApi, terminateRunning, uniqueTaskQueue, type TestApi, type TestDatabase } from '../test/harness/index.js';
import { testReadSettings } from '../test/harness/reading.js';

/**
 * The integration stack without vitest: the harness's `startTestStack` reads the server addresses through
 * vitest's `inject`, so a benchmark starts the same pieces itself: a real Temporal dev server, a throwaway
 * PostgreSQL cluster, a migrated catalog, a Steward worker on a task queue of its own and the API over HTTP.
 */
export interface BenchStack {
  readonly temporalAddress: string;
  readonly client: Client;
  readonly database: TestDatabase;
  readonly taskQueue: string;
  readonly api: TestApi;
  /** Terminates what is still running on the task queue and tears everything down, in reverse order. */
  stop(): Promise<void>;
}

const say = (m: string) => process.stderr.write(`[bench] ${m}\n`);

export async function startBenchStack(name: string, options: { workflowBundle: WorkflowBundle; policy?: LifecyclePolicy }): Promise<BenchStack> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((err: unknown) => say(`cleanup: ${String(err)}`));
    }
  };
  try {
    const started = Date.now();
    const [temporal, postgres] = await Promise.all([startDevServer(), startPostgresCluster()]);
    cleanups.push(() => temporal.stop(), () => postgres.stop());

    const database = await createTestDatabase(postgres.url);
    cleanups.push(() => database.drop());

    const connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection, namespace: 'default' });
    cleanups.push(() => connection.close());

    const taskQueue = uniqueTaskQueue(name);
    const workerConnection = await NativeConnection.connect({ address: temporal.address });
    cleanups.push(() => workerConnection.close());
    const worker = await createStewardWorker({
      connection: workerConnection,
      namespace: 'default',
      taskQueue,
      db: database.db,
      evidence: database.evidence,
      workflowBundle: options.workflowBundle,
      // The test harness's read settings: artifacts are written to the temp dir, as the tests write them.
      reading: testReadSettings(),
    });
    const running = worker.run();
    cleanups.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    });

    const api = await startTestApi({ client, database, taskQueue, ...(options.policy ? { policy: options.policy } : {}) });
    cleanups.push(() => api.close());
    cleanups.push(() => terminateRunning(client, taskQueue, 'benchmark over'));
    say(`Temporal ${temporal.address}, PostgreSQL ready in ${Date.now() - started} ms`);
    return { temporalAddress: temporal.address, client, database, taskQueue, api, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
