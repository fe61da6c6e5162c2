import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { createApiToken } from '../api/tokens.js';
import { manifestDigest } from '../api/lifecycles.js';
import { projection, recordStage } from '../catalog/projection.js';
import type { LifecycleCheckpoint, LifecycleInput, ModelLifecycle } from '../core/lifecycle.js';
import { manifestSchema, type ManifestInput } from '../core/manifest.js';
import { lifecycleWorkflowId, modelVersionId } from '../core/model-id.js';
import type { Principal } from '../core/principal.js';
import { lifecycleSearchAttributes } from '../core/search-attributes.js';
import type { Observation } from '../core/observation.js';
import { loadConfig } from '../platform/config.js';
import { startDevServer } from '../platform/temporal-dev-server.js';
import { startBuiltinRuntime } from '../runtimes/builtin/server.js';
import { observationSignal, statusQuery } from '../workflows/messages.js';
import { createTestDatabase, startTestApi, uniqueTaskQueue } from '../test/harness/index.js';
import { sampleManifest } from '../test/harness/manifests.js';
import { startPostgresCluster } from '../test/harness/postgres-cluster.js';
import { freePort } from '../test/harness/ports.js';
import { TEST_ROOT } from '../test/harness/reading.js';
import { CpuMeter, findProcess, memoryMiB } from './proc.js';

/**
 * `npm run bench:fleet`: how many live lifecycles one worker process holds, and what each one costs.
 *
 * A real Temporal dev server, a throwaway PostgreSQL, the built-in runtime and the API run in this process;
 * the worker is `workers/main.ts` in a child process of its own (the production entry point, configured by the
 * environment as in production), so its RSS and CPU are measured alone from /proc, as is the Temporal
 * server's CPU. For each step (default 500 → 1,000 → 5,000) the fleet grows to that many lifecycles, each one
 * the real `modelLifecycle` on the released `standard` template: registered through `POST /models`, tested,
 * scanned, approved through `POST /models/:id/approvals` (the approver works through `GET /approvals` in
 * bulk), deployed into the built-in runtime and then in its monitor loop. Once every lifecycle is monitoring,
 * each gets `--rounds` windows (default 1) signalled as the scoring gateway signals them, and the step reports
 * the worker's RSS, its CPU and the server's over the windows, the rate the lifecycles judged them at
 * (monitor iterations per second, counted from the catalog's projection) and the worker's sticky cache size
 * (the SDK's own gauge, scraped from the worker's Prometheus endpoint).
 *
 * The shortcuts, none of which skips workflow code: manifests are low-risk (one approver, no shadow phase) and
 * share one artifact; the monitor's hourly timer does not fire during the bench, so every monitor iteration is
 * a gateway window judged and recorded (which is what a serving model's loop does once a minute). Worker
 * options come from STEWARD_WORKER_* (defaults in platform/worker-tuning.ts); `--env KEY=VALUE` overrides any
 * worker variable, e.g. `--env STEWARD_WORKER_MAX_CACHED_WORKFLOWS=2311` for the SDK's default cache.
 */

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '500,1000,5000' },
    rounds: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '32' },
    env: { type: 'string', multiple: true, default: [] },
    'bring-up': { type: 'string', default: 'resume' },
    json: { type: 'string', default: '.steward/bench-fleet.json' },
  },
});
const positive = (name: string, raw: string) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return n;
};
const STEPS = args.steps.split(',').map((s) => positive('steps', s.trim()));
if (STEPS.some((s, i) => i > 0 && s <= STEPS[i - 1]!)) throw new Error('--steps must increase, e.g. 500,1000,5000');
const BRING_UP = args['bring-up'];
if (BRING_UP !== 'resume' && BRING_UP !== 'full') throw new Error(`--bring-up must be resume or full, got ${BRING_UP}`);
const ROUNDS = positive('rounds', args.rounds);
const CONCURRENCY = positive('concurrency', args.concurrency);
const WORKER_ENV = Object.fromEntries(
  args.env.map((kv) => {
    const at = kv.indexOf('=');
    if (at < 1) throw new Error(`--env must be KEY=VALUE, got ${kv}`);
    return [kv.slice(0, at), kv.slice(at + 1)];
  }),
);
// The worker's settings are checked here first, so a wrong --env fails before anything starts, naming it.
const TUNING = loadConfig({ ...process.env, ...WORKER_ENV }).workerTuning;
/** How long the fleet may go without one more lifecycle reaching its monitor loop before the bench gives up. */
const STALL_MS = 300_000;
/** Where the worker's log is kept when the bench fails. */
const WORKER_LOG = '.steward/bench-fleet-worker.log';

const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const say = (m: string) => process.stderr.write(`[bench] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** The worker process, started as `npm run worker` starts it, with its logs in a file; ready once it polls. */
async function startWorker(client: Client, env: Record<string, string>, logPath: string): Promise<ChildProcess> {
  const log = await open(logPath, 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'workers', 'main.ts')], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', log.fd, log.fd],
  });
  child.once('exit', () => void log.close());
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the worker exited with ${child.exitCode}; see ${logPath}`);
    const queue = await client.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: env.TEMPORAL_TASK_QUEUE!, kind: proto.temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    if (queue.pollers?.length) return child;
    await sleep(250);
  }
  child.kill('SIGKILL');
  throw new Error(`the worker did not start within 180 s; see ${logPath}`);
}

/** The SDK's sticky cache gauge, forced evictions and workflow tasks completed, from the worker's Prometheus endpoint. */
async function workerFigures(metricsAddress: string): Promise<{ cached: number; evictions: number; workflowTasks: number }> {
  const text = await (await fetch(`http://${metricsAddress}/metrics`)).text();
  const sum = (name: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(name) && (l[name.length] === ' ' || l[name.length] === '{'))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  return {
    cached: sum('temporal_sticky_cache_size'),
    evictions: sum('temporal_sticky_cache_total_forced_eviction'),
    workflowTasks: sum('temporal_workflow_task_execution_latency_count'),
  };
}

interface Step {
  readonly lifecycles: number;
  readonly cached: number;
  readonly evictions: number;
  readonly rssMiB: number;
  readonly peakRssMiB: number;
  /** RSS growth from the previous step, per lifecycle added. */
  readonly stepMiBPerLifecycle: number;
  /** RSS above the idle worker's, per cached lifecycle. */
  readonly miBPerCached: number;
  readonly toMonitorPerSecond: number;
  readonly windows: number;
  readonly iterationsPerSecond: number;
  readonly workerCpuPercent: number;
  readonly serverCpuPercent: number;
  readonly registerWorkerCpuPercent: number;
  readonly registerServerCpuPercent: number;
  readonly loadAverage: number;
}

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const int = (n: number) => Math.round(n).toLocaleString('en-US');

function table(idle: { rss: number }, steps: readonly Step[]): string {
  const rows = [
    ['lifecycles', 'cached', 'evicted', 'worker RSS MiB', 'MiB/lifecycle (step)', 'MiB/cached (over idle)', 'to monitor /s', 'register: worker CPU %', 'register: server CPU %', 'windows', 'iterations /s', 'monitor: worker CPU %', 'monitor: server CPU %', 'load avg'],
    ['0 (idle)', '0', '0', f1(idle.rss), '', '', '', '', '', '', '', '', '', ''],
    ...steps.map((s) => [
      int(s.lifecycles),
      int(s.cached),
      int(s.evictions),
      f1(s.rssMiB),
      f2(s.stepMiBPerLifecycle),
      f2(s.miBPerCached),
      f1(s.toMonitorPerSecond),
      int(s.registerWorkerCpuPercent),
      int(s.registerServerCpuPercent),
      int(s.windows),
      f1(s.iterationsPerSecond),
      int(s.workerCpuPercent),
      int(s.serverCpuPercent),
      f1(s.loadAverage),
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}

async function main(): Promise<void> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const scratch = await mkdtemp(join(tmpdir(), 'steward-fleet-'));
  cleanups.push(() => rm(scratch, { recursive: true, force: true }));
  try {
    const [temporal, postgres] = await Promise.all([startDevServer(), startPostgresCluster()]);
    cleanups.push(() => temporal.stop(), () => postgres.stop());
    const temporalPort = temporal.address.split(':').pop()!;
    const serverPid = findProcess((c) => c.includes('start-dev') && c.includes(`--port ${temporalPort} `));
    if (!serverPid) throw new Error(`no Temporal dev server process found on port ${temporalPort}`);
    const database = await createTestDatabase(postgres.url);
    cleanups.push(() => database.drop());
    const repository = join(scratch, 'models');
    await mkdir(repository);
    const runtime = await startBuiltinRuntime({ repository, host: '127.0.0.1', port: 0, logger: false });
    cleanups.push(() => runtime.close());
    const connection = await Connection.connect({ address: temporal.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });
    const taskQueue = uniqueTaskQueue('fleet');
    const api = await startTestApi({ client, database, taskQueue });
    cleanups.push(() => api.close());

    const metricsAddress = `127.0.0.1:${await freePort()}`;
    const logPath = join(scratch, 'worker.log');
    const worker = await startWorker(
      client,
      {
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_TASK_QUEUE: taskQueue,
        DATABASE_URL: database.url,
        STEWARD_DATA_DIR: join(scratch, 'data'),
        STEWARD_EVIDENCE_DIR: database.evidence.dir,
        STEWARD_RUNTIMES: JSON.stringify({ default: { kind: 'builtin', url: runtime.url, repository } }),
        STEWARD_READ_ROOTS: TEST_ROOT,
        STEWARD_READ_SCHEMES: 'file,http,https',
        STEWARD_WORKER_ROLE: 'all',
        STEWARD_WORKER_METRICS_ADDRESS: metricsAddress,
        LOG_LEVEL: 'warn',
        ...WORKER_ENV,
      },
      logPath,
    );
    // Anything still left is a bench failure; the log says why.
    cleanups.push(async () => {
      if (worker.exitCode !== null) return;
      const exited = new Promise((r) => worker.once('exit', r));
      worker.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000).then(() => worker.kill('SIGKILL'))]);
    });
    const workerPid = worker.pid!;
    say(`Temporal ${temporal.address} (pid ${serverPid}), PostgreSQL, built-in runtime ${runtime.url}; worker pid ${workerPid}, tuning ${JSON.stringify(TUNING)}`);

    const engineer = await createApiToken(database.db, 'erin', ['engineer']);
    const approver = await createApiToken(database.db, 'ava', ['approver:risk']);
    // standard@1 pinned: its monitor judges a window's counts and latency; newer releases also compare each window's
    // logged sample, which these signalled windows do not have.
    const base = await sampleManifest({ name: 'fleet', riskTier: 'low', template: 'standard@1' });
    const manifest = (i: number): ManifestInput => ({ ...base, name: `fleet-${String(i).padStart(5, '0')}` });
    const monitoring = async () =>
      Number((await database.db.selectFrom('model_versions').select((eb) => eb.fn.countAll<string>().as('n')).where('stage', '=', 'monitor').executeTakeFirstOrThrow()).n);
    const judged = async () =>
      Number((await database.db.selectFrom('stage_transitions').select((eb) => eb.fn.countAll<string>().as('n')).where('step', '=', 'observation').executeTakeFirstOrThrow()).n);

    await sleep(3_000);
    const idle = memoryMiB(workerPid);
    say(`idle worker: RSS ${f1(idle.rss)} MiB`);

    let registered = 0;
    const approved = new Set<string>();

    /** The full path, through the API: register, gates, approval, deploy; done once every lifecycle is monitoring. */
    const growFull = async (indices: readonly number[], target: number) => {
      let registerError: unknown = null;
      const registering = pool(indices, CONCURRENCY, async (i) => {
        const res = await api.call('POST', '/models', { token: engineer, body: manifest(i) });
        if (res.status !== 201) throw new Error(`registering fleet-${i} answered ${res.status}: ${JSON.stringify(res.body)}`);
      }).catch((err: unknown) => {
        registerError = err;
      });
      let reached = await monitoring();
      let progressAt = Date.now();
      let lastSaid = 0;
      while (reached < target) {
        if (registerError) throw registerError;
        const inbox = await api.call('GET', '/approvals?limit=200', { token: approver });
        if (inbox.status !== 200) throw new Error(`GET /approvals answered ${inbox.status}: ${JSON.stringify(inbox.body)}`);
        const waiting = (inbox.body.items as { modelVersionId: string }[]).map((it) => it.modelVersionId).filter((id) => !approved.has(id));
        for (const id of waiting) approved.add(id);
        await pool(waiting, CONCURRENCY, async (id) => {
          const res = await api.call('POST', `/models/${id}/approvals`, { token: approver, body: { decision: 'approve', comment: 'fleet benchmark' } });
          if (res.status >= 300) throw new Error(`approving ${id} answered ${res.status}: ${JSON.stringify(res.body)}`);
        });
        const now = await monitoring();
        if (now > reached) progressAt = Date.now();
        reached = now;
        if (Date.now() - progressAt > STALL_MS) {
          const stages = await database.db.selectFrom('model_versions').select(['stage', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('stage').execute();
          await copyFile(logPath, WORKER_LOG);
          throw new Error(`no lifecycle reached its monitor loop for ${STALL_MS / 1000} s (${reached} of ${target}; stages ${JSON.stringify(stages)}); worker log in ${WORKER_LOG}`);
        }
        if (Date.now() - lastSaid > 15_000) {
          lastSaid = Date.now();
          say(`${reached} of ${target} monitoring, ${approved.size} approved; worker RSS ${f1(memoryMiB(workerPid).rss)} MiB`);
        }
        if (!waiting.length) await sleep(500);
      }
      await registering;
    };

    // One lifecycle goes the full way first, whatever the bring-up: it proves the path and its real state is the
    // checkpoint every resumed lifecycle starts from (the seq, approvals and template it reached).
    let calibration: { template: string; checkpoint: LifecycleCheckpoint; monitorDetail: unknown } | null = null;
    if (BRING_UP === 'resume') {
      const started = performance.now();
      await growFull([0], 1);
      const status = await client.workflow.getHandle(lifecycleWorkflowId(manifestSchema.parse(manifest(0)))).query(statusQuery);
      const workflowId = lifecycleWorkflowId(manifestSchema.parse(manifest(0)));
      const maxSeq = async (table: 'stage_transitions' | 'approval_attempts') =>
        Number((await database.db.selectFrom(table).select((eb) => eb.fn.max<number>('seq').as('seq')).where('workflow_id', '=', workflowId).executeTakeFirstOrThrow()).seq ?? 0);
      const monitorRow = await database.db
        .selectFrom('stage_transitions')
        .select('detail')
        .where('workflow_id', '=', workflowId)
        .where('stage', '=', 'monitor')
        .where('step', 'is', null)
        .executeTakeFirstOrThrow();
      calibration = {
        template: status.template,
        monitorDetail: monitorRow.detail,
        checkpoint: {
          seq: await maxSeq('stage_transitions'),
          approvalSeq: await maxSeq('approval_attempts'),
          run: status.run,
          stage: 'monitor',
          monitorCycles: 0,
          deployment: status.deployment!,
          approvals: status.approvals,
          successor: null,
          pendingRetrain: null,
          pendingRetire: null,
          superseded: null,
        },
      };
      say(`calibration lifecycle through every gate in ${f1((performance.now() - started) / 1000)} s; resumed lifecycles start from ${JSON.stringify(calibration.checkpoint)}`);
    }
    const project = projection(database.db);
    const engineerPrincipal: Principal = { id: 'erin', roles: ['engineer'] };
    const workflowTasks = async () => (await workerFigures(metricsAddress)).workflowTasks;

    /**
     * Resumed bring-up: each lifecycle's catalog rows as its register and monitor stages write them (through the
     * projection itself), then the real workflow started with the calibration's checkpoint as `resume`, which is how
     * continue-as-new starts every later run of the monitor loop. Done once the worker has completed a workflow task
     * for every lifecycle started (the SDK's own counter), i.e. each one has run its code into the loop's wait.
     */
    const growResumed = async (indices: readonly number[]) => {
      const { template, checkpoint } = calibration!;
      const tasksBefore = await workflowTasks();
      await pool(indices, CONCURRENCY, async (i) => {
        const m = manifestSchema.parse(manifest(i));
        const workflowId = lifecycleWorkflowId(m);
        const id = modelVersionId(m);
        const at = new Date().toISOString();
        await project.registerVersion({ workflowId, modelVersionId: id, manifest: m, registeredBy: engineerPrincipal, lineage: null, at, template });
        const deployment = { ...checkpoint.deployment, deploymentId: `${checkpoint.deployment.deploymentId}-${i}`, since: at };
        const detail = { ...(calibration!.monitorDetail as object), deployment };
        await recordStage(database.db, { workflowId, modelVersionId: id, seq: checkpoint.seq, stage: 'monitor', outcome: 'passed', actor: 'steward', detail, at } as unknown as Parameters<typeof recordStage>[1]);
        const input: LifecycleInput = { manifest: m, registeredBy: engineerPrincipal, template, resume: { ...checkpoint, deployment } };
        await client.workflow.start<ModelLifecycle>('modelLifecycle', {
          taskQueue,
          workflowId,
          args: [input],
          typedSearchAttributes: lifecycleSearchAttributes(m, 'monitor'),
          memo: { manifestDigest: manifestDigest(m), registeredBy: engineerPrincipal.id, template },
        });
      });
      let done = 0;
      let progressAt = Date.now();
      let lastSaid = 0;
      while (done < indices.length) {
        const now = (await workflowTasks()) - tasksBefore;
        if (now > done) progressAt = Date.now();
        done = now;
        if (Date.now() - progressAt > STALL_MS) throw new Error(`the worker completed no workflow task for ${STALL_MS / 1000} s (${done} of ${indices.length})`);
        if (Date.now() - lastSaid > 15_000) {
          lastSaid = Date.now();
          say(`${done} of ${indices.length} resumed lifecycles in their loop; worker RSS ${f1(memoryMiB(workerPid).rss)} MiB`);
        }
        await sleep(250);
      }
    };

    const steps: Step[] = [];
    for (const target of STEPS) {
      // ---- grow the fleet to `target` lifecycles in their monitor loops
      const growStart = performance.now();
      const workerCpu = new CpuMeter(workerPid);
      const serverCpu = new CpuMeter(serverPid);
      const from = registered;
      const indices = Array.from({ length: target - from }, (_, k) => from + k + 1);
      if (BRING_UP === 'full') await growFull(indices, target);
      else await growResumed(indices);
      registered = target;
      const growSeconds = (performance.now() - growStart) / 1000;
      const registerWorkerCpuPercent = workerCpu.read();
      const registerServerCpuPercent = serverCpu.read();

      // ---- one window per lifecycle per round, signalled as the gateway signals a closed window
      const windowsBefore = await judged();
      const feedStart = performance.now();
      let sent = 0;
      for (let round = 1; round <= ROUNDS; round++) {
        const end = new Date().toISOString();
        const start = new Date(Date.now() - 60_000).toISOString();
        await pool(Array.from({ length: target }, (_, k) => k + 1), CONCURRENCY, async (i) => {
          const m = manifest(i);
          const window: Observation = { id: `fleet-${target}-${round}-${i}`, windowStart: start, windowEnd: end, requests: 600, errors: 3, kpis: {}, reportedBy: 'gateway', latencyMs: { p50: 4, p95: 9, p99: 15 } };
          await client.workflow.getHandle(lifecycleWorkflowId({ name: m.name, version: m.version })).signal(observationSignal, window);
          sent++;
        });
      }
      const drainDeadline = Date.now() + 600_000;
      let seen = 0;
      while ((seen = (await judged()) - windowsBefore) < sent) {
        if (Date.now() > drainDeadline) throw new Error(`only ${seen} of ${sent} windows judged after 10 minutes; worker log in ${WORKER_LOG}`);
        await sleep(250);
      }
      const feedSeconds = (performance.now() - feedStart) / 1000;
      const workerCpuPercent = workerCpu.read();
      const serverCpuPercent = serverCpu.read();
      await sleep(2_000);
      const memory = memoryMiB(workerPid);
      const cache = await workerFigures(metricsAddress);
      const previous = steps.at(-1);
      const step: Step = {
        lifecycles: target,
        cached: cache.cached,
        evictions: cache.evictions,
        rssMiB: memory.rss,
        peakRssMiB: memory.peak,
        stepMiBPerLifecycle: (memory.rss - (previous?.rssMiB ?? idle.rss)) / (target - (previous?.lifecycles ?? 0)),
        miBPerCached: (memory.rss - idle.rss) / Math.max(cache.cached, 1),
        toMonitorPerSecond: (target - from) / growSeconds,
        windows: sent,
        iterationsPerSecond: sent / feedSeconds,
        workerCpuPercent,
        serverCpuPercent,
        registerWorkerCpuPercent,
        registerServerCpuPercent,
        loadAverage: loadavg()[0]!,
      };
      steps.push(step);
      say(`step ${target}: ${JSON.stringify(step)}`);
    }

    const cores = (await readFile('/proc/cpuinfo', 'utf8')).split('\n').filter((l) => l.startsWith('processor')).length;
    process.stdout.write(
      [
        `bench:fleet: live lifecycles on one worker process (workers/main.ts), ${cores} cores, Node ${process.version}`,
        `worker tuning (STEWARD_WORKER_*): ${JSON.stringify(TUNING)}`,
        'Every lifecycle is the real modelLifecycle on standard@1, registered, tested, scanned, approved (via GET /approvals +',
        'POST /models/:id/approvals), deployed to the built-in runtime and monitoring. Low-risk manifests (one approver, no',
        'shadow) sharing one artifact. Iterations are gateway windows (signals) judged and recorded; the hourly timer does',
        'not fire during the bench. CPU is percent of one core; server = the Temporal dev server process.',
        '',
        table(idle, steps),
        '',
        `peak worker RSS ${f1(Math.max(...steps.map((s) => s.peakRssMiB)))} MiB; goal: ${int(STEPS.at(-1)!)} lifecycles within 4,096 MiB: ${steps.at(-1)!.rssMiB <= 4096 && steps.at(-1)!.cached >= STEPS.at(-1)! ? 'met' : 'missed'}`,
        '',
      ].join('\n'),
    );
    await mkdir(dirname(args.json), { recursive: true });
    await writeFile(args.json, JSON.stringify({ tuning: TUNING, workerEnv: WORKER_ENV, cores, idle, steps }, null, 2));
    say(`wrote ${args.json}`);
  } catch (err) {
    // The worker's log explains most failures; the scratch directory goes with the cleanup.
    await copyFile(join(scratch, 'worker.log'), WORKER_LOG).catch(() => undefined);
    throw err;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => say(`cleanup: ${String(err)}`));
  }
}

await main();
