import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { NativeConnection } from '@temporalio/worker';
import { Lifecycles } from '../api/lifecycles.js';
import { lifecycleRunHistories, type History } from '../audit/run-histories.js';
import { manifestSchema } from '../core/manifest.js';
import type { Observation } from '../core/observation.js';
import { startDevServer } from '../platform/temporal-dev-server.js';
import { bundleWorkflows } from '../workers/bundle.js';
import { createStewardWorker } from '../workers/worker.js';
import { observationSignal, statusQuery } from '../workflows/messages.js';
import { createTestDatabase, uniqueTaskQueue } from '../test/harness/index.js';
import { sampleManifest } from '../test/harness/manifests.js';
import { startPostgresCluster } from '../test/harness/postgres-cluster.js';
import { testReadSettings } from '../test/harness/reading.js';
import { startTestRuntime } from '../test/harness/runtimes.js';
import { monitorLoopTemplates } from './monitor-loop-workflows.js';

/**
 * `npm run bench:monitor-loop`: a lifecycle's monitor loop stays bounded however long it runs.
 *
 * On a real Temporal dev server (its default `limit.historyCount.suggestContinueAsNew` of 4,096 events) with
 * real PostgreSQL and the built-in runtime, `--lifecycles` lifecycles (default 4) of the real `modelLifecycle`
 * run their monitor loops until they have made `--iterations` monitor iterations between them (default
 * 10,000), in two scenarios:
 *
 * - `timer+windows`: template `loop-timer@1`, a timer cycle every 20 ms (each probes the deployment) while the
 *   driver signals a gateway window to every lifecycle every `--window-ms` (default 100 ms);
 * - `windows`: template `loop-windows@1`, an hourly timer as `standard@1` has, so every iteration is a window
 *   (the shape of a serving model's loop: a window a minute, a timer an hour).
 *
 * Afterwards every run of every lifecycle is fetched from the server (`fetchHistory` per run, following
 * continue-as-new) and the bench prints events per iteration over time (runs in order, in tenths) and the
 * largest run. An iteration is a timer that fired or a window signalled in the run. The process exits 1 if a
 * run reached 4,096 events.
 */

const { values: args } = parseArgs({
  options: {
    iterations: { type: 'string', default: '10000' },
    lifecycles: { type: 'string', default: '4' },
    'window-ms': { type: 'string', default: '100' },
    scenario: { type: 'string', multiple: true, default: ['timer+windows', 'windows'] },
    json: { type: 'string', default: '.steward/bench-monitor-loop.json' },
  },
});
const positive = (name: string, raw: string) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return n;
};
const ITERATIONS = positive('iterations', args.iterations);
const LIFECYCLES = positive('lifecycles', args.lifecycles);
const WINDOW_MS = positive('window-ms', args['window-ms']);
const SCENARIOS = { 'timer+windows': 'loop-timer', windows: 'loop-windows' } as const;
type Scenario = keyof typeof SCENARIOS;
for (const s of args.scenario) if (!(s in SCENARIOS)) throw new Error(`--scenario must be one of ${Object.keys(SCENARIOS).join(', ')}, got ${s}`);
const EVENT_LIMIT = 4096;

const say = (m: string) => process.stderr.write(`[bench] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));

interface RunFigures {
  readonly lifecycle: number;
  readonly run: number;
  readonly events: number;
  readonly timers: number;
  readonly windows: number;
  readonly endedBy: 'continued-as-new' | 'open' | 'closed';
  /** Workflow tasks recorded as failed (by cause) or timed out: a refused continue-as-new shows up here. */
  readonly failedTasks: Readonly<Record<string, number>>;
  readonly timedOutTasks: number;
  /** From the run's first failed or timed-out workflow task to its last event (its continue-as-new when it made one). */
  readonly stuckSeconds: number | null;
}

function runFigures(lifecycle: number, run: number, last: boolean, history: History): RunFigures {
  const events = history.events ?? [];
  let timers = 0;
  let windows = 0;
  let timedOutTasks = 0;
  let firstTrouble: number | null = null;
  const failedTasks: Record<string, number> = {};
  const seconds = (e: (typeof events)[number]) => Number(e.eventTime?.seconds ?? 0) + (e.eventTime?.nanos ?? 0) / 1e9;
  for (const e of events) {
    if (e.timerFiredEventAttributes) timers++;
    if (e.workflowExecutionSignaledEventAttributes?.signalName === observationSignal.name) windows++;
    const failed = e.workflowTaskFailedEventAttributes;
    if (failed) {
      const cause = proto.temporal.api.enums.v1.WorkflowTaskFailedCause[failed.cause ?? 0] ?? String(failed.cause);
      failedTasks[cause] = (failedTasks[cause] ?? 0) + 1;
    }
    if (e.workflowTaskTimedOutEventAttributes) timedOutTasks++;
    if ((failed || e.workflowTaskTimedOutEventAttributes) && firstTrouble === null) firstTrouble = seconds(e);
  }
  const endedBy = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes ? 'continued-as-new' : last ? 'open' : 'closed';
  const stuckSeconds = firstTrouble === null || !events.length ? null : seconds(events.at(-1)!) - firstTrouble;
  return { lifecycle, run, events: events.length, timers, windows, endedBy, failedTasks, timedOutTasks, stuckSeconds };
}

interface ScenarioResult {
  readonly scenario: Scenario;
  readonly seconds: number;
  readonly iterations: number;
  readonly runs: readonly RunFigures[];
  readonly maxEvents: number;
  /** Events per iteration of the runs in order, in up to ten slices (the first run of each lifecycle left out: it holds register → deploy). */
  readonly tenths: readonly { runs: number; iterations: number; eventsPerIteration: number; maxEvents: number }[];
}

async function runScenario(scenario: Scenario, ctx: { client: Client; taskQueue: string }): Promise<ScenarioResult> {
  const { client, taskQueue } = ctx;
  const lifecycles = new Lifecycles(client, taskQueue, undefined, monitorLoopTemplates);
  const base = manifestSchema.parse(await sampleManifest({ name: `loop-${scenario === 'windows' ? 'w' : 't'}`, template: SCENARIOS[scenario], riskTier: 'low' }));
  const handles = await Promise.all(
    Array.from({ length: LIFECYCLES }, async (_, i) => {
      const manifest = { ...base, name: `${base.name}-${i}` };
      const { workflowId } = await lifecycles.register(manifest, { id: 'erin', roles: ['engineer'] });
      return client.workflow.getHandle(workflowId);
    }),
  );
  for (const h of handles) {
    const deadline = Date.now() + 120_000;
    while ((await h.query(statusQuery)).stage !== 'monitor') {
      if (Date.now() > deadline) throw new Error(`${h.workflowId} did not reach its monitor loop in 120 s`);
      await sleep(200);
    }
  }
  say(`${scenario}: ${LIFECYCLES} lifecycles monitoring; driving ${ITERATIONS} iterations`);
  const started = performance.now();
  let windowsSent = 0;
  let timerCycles = 0;
  let lastSaid = 0;
  while (windowsSent + timerCycles < ITERATIONS) {
    const round = windowsSent / LIFECYCLES;
    const end = new Date().toISOString();
    const start = new Date(Date.now() - 60_000).toISOString();
    await Promise.all(
      handles.map((h, i) => {
        const window: Observation = { id: `w-${round}-${i}`, windowStart: start, windowEnd: end, requests: 600, errors: 3, kpis: {}, reportedBy: 'gateway', latencyMs: { p50: 4, p95: 9, p99: 15 } };
        return h.signal(observationSignal, window);
      }),
    );
    windowsSent += handles.length;
    await sleep(WINDOW_MS);
    if (scenario === 'timer+windows') timerCycles = (await Promise.all(handles.map((h) => h.query(statusQuery)))).reduce((n, s) => n + s.monitorCycles, 0);
    if (Date.now() - lastSaid > 15_000) {
      lastSaid = Date.now();
      say(`${scenario}: ${windowsSent} windows sent, ${timerCycles} timer cycles`);
    }
  }
  // Let the last windows be judged before the histories are read.
  await sleep(2_000);
  const seconds = (performance.now() - started) / 1000;
  const runs: RunFigures[] = [];
  for (const [i, h] of handles.entries()) {
    const histories = await lifecycleRunHistories(client, h.workflowId);
    histories.forEach((r, k) => runs.push(runFigures(i, k + 1, k === histories.length - 1, r.history)));
  }
  // Runs in the order they ran (the k-th run of every lifecycle, then the (k+1)-th), the first runs left out:
  // they also hold register → deploy.
  const ordered = runs.filter((r) => r.run > 1).sort((a, b) => a.run - b.run || a.lifecycle - b.lifecycle);
  const slices = Math.min(10, ordered.length);
  const tenths = Array.from({ length: slices }, (_, t) => {
    const slice = ordered.slice(Math.floor((t * ordered.length) / slices), Math.floor(((t + 1) * ordered.length) / slices));
    const iterations = slice.reduce((n, r) => n + r.timers + r.windows, 0);
    const events = slice.reduce((n, r) => n + r.events, 0);
    return { runs: slice.length, iterations, eventsPerIteration: iterations ? events / iterations : NaN, maxEvents: Math.max(0, ...slice.map((r) => r.events)) };
  });
  return {
    scenario,
    seconds,
    iterations: runs.reduce((n, r) => n + r.timers + r.windows, 0),
    runs,
    maxEvents: Math.max(...runs.map((r) => r.events)),
    tenths,
  };
}

function report(r: ScenarioResult): string {
  const lines = [
    `${r.scenario}: ${r.iterations.toLocaleString('en-US')} iterations (${r.runs.reduce((n, x) => n + x.timers, 0)} timer cycles, ${r.runs.reduce((n, x) => n + x.windows, 0)} windows) over ${LIFECYCLES} lifecycles in ${r.seconds.toFixed(0)} s; ${r.runs.length} runs`,
    ...r.runs.map(
      (x) =>
        `  lifecycle ${x.lifecycle} run ${String(x.run).padStart(2)}: ${String(x.events).padStart(5)} events, ${String(x.timers + x.windows).padStart(5)} iterations (${x.timers} timers, ${x.windows} windows), ${(x.events / Math.max(1, x.timers + x.windows)).toFixed(2)} events/iteration, ${x.endedBy}` +
        (x.stuckSeconds === null ? '' : `; workflow tasks failed ${JSON.stringify(x.failedTasks)}, timed out ${x.timedOutTasks}, ${x.stuckSeconds.toFixed(1)} s from the first to the run's end`),
    ),
    `  runs with a failed or timed-out workflow task: ${r.runs.filter((x) => x.stuckSeconds !== null).length}; longest from the first such task to the run's end: ${Math.max(0, ...r.runs.map((x) => x.stuckSeconds ?? 0)).toFixed(1)} s`,
    '  slice  runs  iterations  events/iteration  max events in a run   (runs after the first, in order)',
    ...r.tenths.map((t, i) => `  ${String(i + 1).padStart(5)}  ${String(t.runs).padStart(4)}  ${String(t.iterations).padStart(10)}  ${t.eventsPerIteration.toFixed(2).padStart(16)}  ${String(t.maxEvents).padStart(19)}`),
    `  largest run: ${r.maxEvents} events (limit ${EVENT_LIMIT}): ${r.maxEvents < EVENT_LIMIT ? 'bounded' : 'NOT bounded'}`,
  ];
  return lines.join('\n');
}

async function main(): Promise<number> {
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    say('bundling the bench templates');
    const workflowBundle = await bundleWorkflows(join(repoRoot, 'bench', 'monitor-loop-workflows.ts'));
    const [temporal, postgres] = await Promise.all([startDevServer(), startPostgresCluster()]);
    cleanups.push(() => temporal.stop(), () => postgres.stop());
    const database = await createTestDatabase(postgres.url);
    cleanups.push(() => database.drop());
    const runtime = await startTestRuntime();
    cleanups.push(() => runtime.close());
    const connection = await Connection.connect({ address: temporal.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });
    const taskQueue = uniqueTaskQueue('monitor-loop');
    const workerConnection = await NativeConnection.connect({ address: temporal.address });
    cleanups.push(() => workerConnection.close());
    const worker = await createStewardWorker({
      connection: workerConnection,
      namespace: 'default',
      taskQueue,
      db: database.db,
      evidence: database.evidence,
      workflowBundle,
      reading: testReadSettings(),
      runtimes: runtime.runtimes,
    });
    const running = worker.run();
    cleanups.push(async () => {
      worker.shutdown();
      await running;
    });
    const results: ScenarioResult[] = [];
    for (const scenario of args.scenario as Scenario[]) {
      const result = await runScenario(scenario, { client, taskQueue });
      results.push(result);
      process.stdout.write(`${report(result)}\n\n`);
    }
    await mkdir(dirname(args.json), { recursive: true });
    await writeFile(args.json, JSON.stringify({ iterations: ITERATIONS, lifecycles: LIFECYCLES, windowMs: WINDOW_MS, results }, null, 2));
    say(`wrote ${args.json}`);
    return results.every((r) => r.maxEvents < EVENT_LIMIT) ? 0 : 1;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => say(`cleanup: ${String(err)}`));
  }
}

process.exitCode = await main();
