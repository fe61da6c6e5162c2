import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { WorkflowClient } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { STEWARD_SEARCH_ATTRIBUTES } from '../../core/search-attributes.js';
import { computeTaskQueue } from '../../core/task-queues.js';

/**
 * Workflow tests on Temporal's time-skipping test server: a 10-day approval deadline or a year of
 * production passes in milliseconds. One environment per test file (time is global to a server, so the
 * tests of one file run one after another), with a worker on the lifecycle task queue and one on its compute
 * queue, each running the test's activity doubles.
 *
 * Time moves only when a test says so: `env.sleep(d)` skips `d` of server time, firing every timer due
 * in it in order; awaiting a workflow's result skips ahead until it completes. Otherwise the server's
 * clock runs at wall-clock speed.
 */

// The SDK's own logging only when something is wrong; failures surface through assertions.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // Already installed by another harness module in this process.
}

export interface TimeSkippingOptions {
  /** The test server executable (takes the port as its only argument); see java-test-server.ts. */
  readonly serverPath: string;
  /** A workflow bundle written to disk by the global setup. */
  readonly workflowBundlePath: string;
  /** Activities of the lifecycle task queue, by name. */
  readonly activities: object;
  /** Activities of the compute task queue (`<queue>-compute`), by name. */
  readonly computeActivities?: object;
}

export interface TimeSkippingStack {
  readonly env: TestWorkflowEnvironment;
  readonly taskQueue: string;
  /**
   * A client whose waits leave time locked: awaiting a result through it lets the server's clock run at
   * wall-clock speed, for workflows that need no timer to finish (unlike `env.client`, which skips ahead).
   */
  readonly wallClock: WorkflowClient;
  /** Stops the workers and the server. */
  stop(): Promise<void>;
}

export async function startTimeSkipping(options: TimeSkippingOptions): Promise<TimeSkippingStack> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: options.serverPath } },
  });
  // The test server knows no custom search attributes until told, and the lifecycle upserts Steward's.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(STEWARD_SEARCH_ATTRIBUTES.map((key) => [key.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
  const taskQueue = `workflow-test-${randomBytes(4).toString('hex')}`;
  const code = await readFile(options.workflowBundlePath, 'utf8');
  // Heartbeats (and the cancellations that come back with them) go out at once, not throttled to most of the
  // heartbeat timeout: a cancelled activity must not outlive its workflow, or it holds the server's clock.
  const common = { connection: env.nativeConnection, maxHeartbeatThrottleInterval: 100, defaultHeartbeatThrottleInterval: 100 };
  const workers = await Promise.all([
    Worker.create({
      ...common,
      taskQueue,
      workflowBundle: { code },
      activities: options.activities,
      // Bundles that carry tracing interceptors send spans through this sink; tests have no use for them.
      sinks: { exporter: { export: { fn: () => undefined } } },
    }),
    Worker.create({ ...common, taskQueue: computeTaskQueue(taskQueue), activities: options.computeActivities ?? {} }),
  ]);
  const running = workers.map((w) => w.run());
  return {
    env,
    taskQueue,
    wallClock: new WorkflowClient({ connection: env.connection, namespace: env.namespace ?? 'default' }),
    async stop() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.allSettled(running);
      await env.teardown();
    },
  };
}
