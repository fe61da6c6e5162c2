import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import pg from 'pg';
import { createApiToken } from '../api/tokens.js';
import { manifestSchema, type ModelManifest } from '../core/manifest.js';
import { lifecycleWorkflowId, modelVersionId } from '../core/model-id.js';
import { defaultPolicy, type LifecyclePolicy } from '../core/policy.js';
import { bundleWorkflows, workflowsPath } from '../workers/bundle.js';
import { sampleManifest } from '../test/harness/manifests.js';
import { testReadSettings } from '../test/harness/reading.js';
import { startTestRuntime } from '../test/harness/runtimes.js';
import { BARE_SCHEMA, bareActivities } from './engine-bare-activities.js';
import { bareApprovalSignal, type BareInput } from './engine-bare-workflow.js';
import { startBenchStack, type BenchStack } from './stack.js';

/**
 * `npm run bench:engine`: Steward's engine overhead against a bare Temporal workflow, side by side in one run.
 *
 * One Temporal dev server, one PostgreSQL database, one built-in runtime and one process with two workers:
 * Steward's (the real worker, bundle, activities and API over HTTP, inline policy register → test → scan →
 * approval → deploy → monitor) and a bare workflow (bench/engine-bare-workflow.ts) making the same activity
 * calls, search-attribute upserts and approval signal, its records one plain insert each.
 *
 * - Throughput: `--lifecycles` lifecycles at `--concurrency` lanes, each lane registering (Steward: POST /models;
 *   bare: client start), waiting for the approval gate, approving (Steward: POST /models/:id/approvals; bare:
 *   a signal) and waiting until deployed; rounds alternate Steward and bare (`--rounds` each).
 * - Latency (unloaded): `--latency-runs` lifecycles one at a time; approval sent → the deploy activity's start
 *   (its ActivityTaskStarted event).
 * - Per lifecycle, register → deployed: history events, workflow tasks, activities (from the histories), catalog
 *   transactions (pg_stat_database), process CPU (worker + API + driver: everything this process does), and the
 *   time each activity type spends queued and running under load.
 * Gate and deploy are observed without polling: a trigger on each side's transition table NOTIFYs the driver.
 * The JSON goes to `--json` (default .steward/bench-engine.json). Steward's bundle is the one a worker builds with
 * no trace exporter configured (no workflow interceptors, workers/bundle.ts); `--traced-workflows` measures it as a
 * worker with OTEL_EXPORTER_OTLP_ENDPOINT set runs it, with the OpenTelemetry workflow interceptors.
 */

const { values: args } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '8' },
    lifecycles: { type: 'string', default: '48' },
    rounds: { type: 'string', default: '2' },
    'latency-runs': { type: 'string', default: '20' },
    'traced-workflows': { type: 'boolean', default: false },
    json: { type: 'string', default: '.steward/bench-engine.json' },
  },
});
const int = (name: string, raw: string | undefined) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return n;
};
const CONCURRENCY = int('concurrency', args.concurrency);
const LIFECYCLES = int('lifecycles', args.lifecycles);
const ROUNDS = int('rounds', args.rounds);
const LATENCY_RUNS = int('latency-runs', args['latency-runs']);
const WARMUP = Math.min(8, CONCURRENCY);
const GOALS = { throughput: 0.8, latencyP50: 1.5 };
/** Monitor cycles an hour apart: the bench measures register → deployed, not the monitor loop. */
const POLICY: LifecyclePolicy = { ...defaultPolicy, monitor: { intervalMs: 3_600_000, cyclesPerRun: 10 } };

const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const say = (m: string) => process.stderr.write(`[bench] ${m}\n`);
const pct = (xs: readonly number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');

type Side = 'steward' | 'bare';

// ---------------------------------------------------------------------------------------------------------
// Seeing gates open and deployments land, without polling

const NOTIFY_SQL = `
  create or replace function bench_engine_notify() returns trigger language plpgsql as $$
  begin
    if (new.stage = 'approval' and new.outcome = 'entered') or (new.stage = 'deploy' and new.outcome = 'passed') then
      perform pg_notify('bench_engine', coalesce(to_jsonb(new)->>'workflow_id', 'bare-' || (to_jsonb(new)->>'id')) || ' ' || new.stage);
    end if;
    return new;
  end $$;
  drop trigger if exists bench_engine_notify on stage_transitions;
  create trigger bench_engine_notify after insert on stage_transitions for each row execute function bench_engine_notify();
  drop trigger if exists bench_engine_notify on bare_transitions;
  create trigger bench_engine_notify after insert on bare_transitions for each row execute function bench_engine_notify();
`;

class Notifications {
  private readonly waiting = new Map<string, () => void>();
  private readonly seen = new Set<string>();
  constructor(private readonly listener: pg.Client) {
    listener.on('notification', (n) => {
      const key = n.payload ?? '';
      const resolve = this.waiting.get(key);
      if (resolve) {
        this.waiting.delete(key);
        resolve();
      } else this.seen.add(key);
    });
  }
  static async listen(url: string): Promise<Notifications> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('listen bench_engine');
    return new Notifications(client);
  }
  /** Resolves when `<workflowId> <stage>` is notified (or already was); fails after `timeoutMs`. */
  wait(workflowId: string, stage: 'approval' | 'deploy', timeoutMs = 120_000): Promise<void> {
    const key = `${workflowId} ${stage}`;
    if (this.seen.delete(key)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${stage} notification for ${workflowId} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.set(key, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  close = () => this.listener.end();
}

// ---------------------------------------------------------------------------------------------------------
// One lifecycle, register → deployed, on each side

interface Driver {
  readonly side: Side;
  /** Runs one lifecycle to deployed; returns its workflow id and when the approval went out (epoch ms). */
  run(manifest: ModelManifest): Promise<{ workflowId: string; approvalSentAt: number }>;
}

function stewardDriver(stack: BenchStack, notes: Notifications, tokens: { erin: string; ava: string }): Driver {
  return {
    side: 'steward',
    async run(manifest) {
      const workflowId = lifecycleWorkflowId(manifest);
      const id = modelVersionId(manifest);
      const registered = await stack.api.call('POST', '/models', { token: tokens.erin, body: manifest });
      if (registered.status !== 201) throw new Error(`POST /models answered ${registered.status}: ${JSON.stringify(registered.body)}`);
      await notes.wait(workflowId, 'approval');
      const approvalSentAt = Date.now();
      const approved = await stack.api.call('POST', `/models/${id}/approvals`, { token: tokens.ava, body: { decision: 'approve', comment: '' } });
      if (approved.status !== 200) throw new Error(`approval of ${id} answered ${approved.status}: ${JSON.stringify(approved.body)}`);
      await notes.wait(workflowId, 'deploy');
      return { workflowId, approvalSentAt };
    },
  };
}

function bareDriver(client: Client, taskQueue: string, notes: Notifications): Driver {
  return {
    side: 'bare',
    async run(manifest) {
      const id = modelVersionId(manifest);
      const workflowId = `bare-${id}`;
      const input: BareInput = { id, manifest, minMetrics: { ...defaultPolicy.test.minMetrics } };
      const handle = await client.workflow.start('bareLifecycle', { taskQueue, workflowId, args: [input] });
      await notes.wait(workflowId, 'approval');
      const approvalSentAt = Date.now();
      await handle.signal(bareApprovalSignal, { attemptId: `${id}:approve`, decision: 'approve', principal: { id: 'ava' } });
      await notes.wait(workflowId, 'deploy');
      return { workflowId, approvalSentAt };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// What the histories say

const T = proto.temporal.api.enums.v1.EventType;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const timeOf = (e: HistoryEvent) => Number(e.eventTime!.seconds) * 1000 + (e.eventTime!.nanos ?? 0) / 1e6;

interface ActivityTiming {
  readonly type: string;
  readonly queuedMs: number;
  readonly runMs: number;
}

interface HistoryFacts {
  /** Events, workflow tasks and activities up to the workflow task after the deployment's transition record. */
  readonly events: number;
  readonly workflowTasks: number;
  readonly activities: number;
  readonly timings: ActivityTiming[];
  readonly deployStartedAt: number;
  readonly signaledAt: number;
  readonly deployScheduledAt: number;
}

function historyFacts(events: HistoryEvent[]): HistoryFacts {
  const scheduled = new Map<number, { type: string; at: number }>();
  const started = new Map<number, number>();
  const timings: ActivityTiming[] = [];
  let deployScheduledId: number | null = null;
  let deployStartedAt = NaN;
  let deployScheduledAt = NaN;
  let signaledAt = NaN;
  let afterDeploy: 'no' | 'deployed' | 'recorded' = 'no';
  let cut = events.length;
  for (const [i, e] of events.entries()) {
    const id = Number(e.eventId);
    if (e.eventType === T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      const type = e.activityTaskScheduledEventAttributes!.activityType!.name!;
      scheduled.set(id, { type, at: timeOf(e) });
      if (type === 'deployVersion' && deployScheduledId === null) {
        deployScheduledId = id;
        deployScheduledAt = timeOf(e);
      }
    } else if (e.eventType === T.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
      const sid = Number(e.activityTaskStartedEventAttributes!.scheduledEventId);
      started.set(sid, timeOf(e));
      if (sid === deployScheduledId) deployStartedAt = timeOf(e);
    } else if (e.eventType === T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
      const sid = Number(e.activityTaskCompletedEventAttributes!.scheduledEventId);
      const s = scheduled.get(sid);
      const st = started.get(sid);
      if (s && st !== undefined) timings.push({ type: s.type, queuedMs: st - s.at, runMs: timeOf(e) - st });
      if (sid === deployScheduledId) afterDeploy = 'deployed';
      else if (afterDeploy === 'deployed' && s?.type === 'recordStage') afterDeploy = 'recorded';
    } else if (e.eventType === T.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED && e.workflowExecutionSignaledEventAttributes?.signalName === 'approval') {
      signaledAt = timeOf(e);
    } else if (e.eventType === T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED && afterDeploy === 'recorded') {
      cut = i + 1;
      break;
    }
  }
  const upTo = events.slice(0, cut);
  return {
    events: upTo.length,
    workflowTasks: upTo.filter((e) => e.eventType === T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).length,
    activities: upTo.filter((e) => e.eventType === T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).length,
    timings,
    deployStartedAt,
    signaledAt,
    deployScheduledAt,
  };
}

async function factsOf(client: Client, workflowId: string): Promise<HistoryFacts> {
  return historyFacts((await client.workflow.getHandle(workflowId).fetchHistory()).events ?? []);
}

// ---------------------------------------------------------------------------------------------------------
// Rounds

interface Round {
  readonly side: Side;
  readonly lifecycles: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly cpuMsPerLifecycle: number;
  readonly transactionsPerLifecycle: number;
  readonly workflowIds: string[];
  /** Monotonic clock (µs, the clock of V8 CPU profiles) at the round's start and end, to cut a profile. */
  readonly monotonicUs: readonly [number, number];
}

async function committedTransactions(admin: pg.Pool, database: string): Promise<number> {
  // Statistics reach pg_stat_database within a second of a backend going idle; wait that out, then read fresh.
  await new Promise((r) => setTimeout(r, 1_200));
  const c = await admin.connect();
  try {
    await c.query('select pg_stat_clear_snapshot()');
    const { rows } = await c.query<{ n: string }>('select xact_commit + xact_rollback as n from pg_stat_database where datname = $1', [database]);
    return Number(rows[0]!.n);
  } finally {
    c.release();
  }
}

async function throughputRound(driver: Driver, manifests: ModelManifest[], admin: pg.Pool, database: string): Promise<Round> {
  const before = await committedTransactions(admin, database);
  const cpu = process.cpuUsage();
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  const started = performance.now();
  const workflowIds: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < manifests.length) {
        const m = manifests[next++]!;
        workflowIds.push((await driver.run(m)).workflowId);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  // The read of the counter itself is one transaction of the admin pool, in the other database.
  const after = await committedTransactions(admin, database);
  return {
    side: driver.side,
    lifecycles: manifests.length,
    seconds,
    perSecond: manifests.length / seconds,
    cpuMsPerLifecycle: (used.user + used.system) / 1000 / manifests.length,
    transactionsPerLifecycle: (after - before) / manifests.length,
    workflowIds,
    monotonicUs: [fromUs, Number(process.hrtime.bigint() / 1000n)],
  };
}

async function manifestsFor(side: Side, n: number, round: string): Promise<ModelManifest[]> {
  return Promise.all(Array.from({ length: n }, async () => manifestSchema.parse(await sampleManifest({ name: `bench-${side}-${round}` }))));
}

// ---------------------------------------------------------------------------------------------------------

interface SideSummary {
  readonly perSecond: number;
  readonly latencyMs: { p50: number; p99: number; signalToScheduledP50: number };
  readonly perLifecycle: { events: number; workflowTasks: number; activities: number; catalogTransactions: number; cpuMs: number };
  readonly activityMs: Record<string, { queuedP50: number; runP50: number; runP99: number; calls: number }>;
}

function summarise(rounds: Round[], facts: HistoryFacts[], latency: number[], signalToScheduled: number[]): SideSummary {
  const total = rounds.reduce((s, r) => s + r.lifecycles, 0);
  const seconds = rounds.reduce((s, r) => s + r.seconds, 0);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const byType = new Map<string, ActivityTiming[]>();
  for (const t of facts.flatMap((f) => f.timings)) byType.set(t.type, [...(byType.get(t.type) ?? []), t]);
  return {
    perSecond: total / seconds,
    latencyMs: { p50: pct(latency, 50), p99: pct(latency, 99), signalToScheduledP50: pct(signalToScheduled, 50) },
    perLifecycle: {
      events: mean(facts.map((f) => f.events)),
      workflowTasks: mean(facts.map((f) => f.workflowTasks)),
      activities: mean(facts.map((f) => f.activities)),
      catalogTransactions: rounds.reduce((s, r) => s + r.transactionsPerLifecycle * r.lifecycles, 0) / total,
      cpuMs: rounds.reduce((s, r) => s + r.cpuMsPerLifecycle * r.lifecycles, 0) / total,
    },
    activityMs: Object.fromEntries(
      [...byType].map(([type, ts]) => [type, { calls: ts.length / facts.length, queuedP50: pct(ts.map((t) => t.queuedMs), 50), runP50: pct(ts.map((t) => t.runMs), 50), runP99: pct(ts.map((t) => t.runMs), 99) }]),
    ),
  };
}

async function main(): Promise<void> {
  const load = loadavg()[0]!;
  say(`${availableParallelism()} cores, load average ${load.toFixed(2)}; concurrency ${CONCURRENCY}, ${LIFECYCLES} lifecycles × ${ROUNDS} rounds per side, ${LATENCY_RUNS} latency runs`);
  const [stewardBundle, bareBundle, runtime] = await Promise.all([
    bundleWorkflows(workflowsPath, { traced: args['traced-workflows'] }),
    bundleWorkflowCode({
      workflowsPath: join(repoRoot, 'bench', 'engine-bare-workflow.ts'),
      logger: new DefaultLogger('WARN'),
      webpackConfigHook: (config) => ({ ...config, resolve: { ...config.resolve, extensionAlias: { '.js': ['.ts', '.js'] } } }),
    }),
    startTestRuntime(),
  ]);
  // The Steward worker reads its targets from the environment, as in production: here the one runtime above.
  process.env.STEWARD_RUNTIMES = runtime.env;
  const stack = await startBenchStack('bench-engine', { workflowBundle: stewardBundle, policy: POLICY });
  const cleanups: (() => Promise<unknown>)[] = [() => stack.stop(), () => runtime.close()];
  try {
    const dbName = new URL(stack.database.url).pathname.slice(1);
    const adminUrl = new URL(stack.database.url);
    adminUrl.pathname = '/postgres';
    const admin = new pg.Pool({ connectionString: adminUrl.toString(), max: 1 });
    cleanups.unshift(() => admin.end());
    const barePool = new pg.Pool({ connectionString: stack.database.url, max: 10 });
    cleanups.unshift(() => barePool.end());
    await barePool.query(BARE_SCHEMA);
    await barePool.query(NOTIFY_SQL);
    const notes = await Notifications.listen(stack.database.url);
    cleanups.unshift(() => notes.close());

    const bareQueue = `${stack.taskQueue}-bare`;
    const bareConnection = await NativeConnection.connect({ address: stack.temporalAddress });
    const bareWorker = await Worker.create({
      connection: bareConnection,
      namespace: 'default',
      taskQueue: bareQueue,
      workflowBundle: bareBundle,
      activities: bareActivities(barePool, stack.database.evidence, testReadSettings(), runtime.runtimes),
    });
    const bareRunning = bareWorker.run();
    cleanups.unshift(async () => {
      bareWorker.shutdown();
      await bareRunning;
      await bareConnection.close();
    });

    const tokens = { erin: await createApiToken(stack.database.db, 'erin', ['engineer']), ava: await createApiToken(stack.database.db, 'ava', ['approver:risk']) };
    const drivers: Record<Side, Driver> = { steward: stewardDriver(stack, notes, tokens), bare: bareDriver(stack.client, bareQueue, notes) };

    say('warming up both sides');
    for (const side of ['steward', 'bare'] as const) {
      const warm = await manifestsFor(side, WARMUP, 'warm');
      await Promise.all(warm.map((m) => drivers[side].run(m)));
    }

    const rounds: Round[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (const side of r % 2 === 0 ? (['steward', 'bare'] as const) : (['bare', 'steward'] as const)) {
        const manifests = await manifestsFor(side, LIFECYCLES, `r${r}`);
        const round = await throughputRound(drivers[side], manifests, admin, dbName);
        rounds.push(round);
        say(`round ${r + 1} ${side}: ${round.lifecycles} in ${round.seconds.toFixed(1)} s = ${round.perSecond.toFixed(2)}/s, CPU ${round.cpuMsPerLifecycle.toFixed(1)} ms, ${round.transactionsPerLifecycle.toFixed(1)} transactions per lifecycle`);
      }
    }

    say('unloaded latency: one lifecycle at a time, alternating sides');
    const latency: Record<Side, number[]> = { steward: [], bare: [] };
    const signalToScheduled: Record<Side, number[]> = { steward: [], bare: [] };
    for (let i = 0; i < LATENCY_RUNS; i++) {
      for (const side of ['steward', 'bare'] as const) {
        const [m] = await manifestsFor(side, 1, 'latency');
        const { workflowId, approvalSentAt } = await drivers[side].run(m!);
        const facts = await factsOf(stack.client, workflowId);
        latency[side].push(facts.deployStartedAt - approvalSentAt);
        signalToScheduled[side].push(facts.deployScheduledAt - facts.signaledAt);
      }
    }

    const sample = (side: Side) => rounds.filter((r) => r.side === side).flatMap((r) => r.workflowIds);
    const facts = async (side: Side) => Promise.all(sample(side).map((id) => factsOf(stack.client, id)));
    const summary: Record<Side, SideSummary> = {
      steward: summarise(rounds.filter((r) => r.side === 'steward'), await facts('steward'), latency.steward, signalToScheduled.steward),
      bare: summarise(rounds.filter((r) => r.side === 'bare'), await facts('bare'), latency.bare, signalToScheduled.bare),
    };
    report(summary, rounds, load);
    const json = { tracedWorkflows: args['traced-workflows'], at: new Date().toISOString(), cores: availableParallelism(), loadAverage: load, concurrency: CONCURRENCY, lifecycles: LIFECYCLES, rounds, summary };
    const out = args.json!;
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, JSON.stringify(json, null, 2));
    say(`JSON in ${out}`);
  } finally {
    for (const c of cleanups) await c().catch((err: unknown) => say(`cleanup: ${String(err)}`));
  }
}

/** Each round's Steward and bare runs, side by side (they ran back to back). */
const pairs = (rounds: Round[]): [Round, Round][] =>
  Array.from({ length: rounds.length / 2 }, (_, i) => {
    const two = rounds.slice(2 * i, 2 * i + 2);
    return [two.find((x) => x.side === 'steward')!, two.find((x) => x.side === 'bare')!];
  });

function report(s: Record<Side, SideSummary>, rounds: Round[], load: number): void {
  const { steward: st, bare: b } = s;
  const tput = st.perSecond / b.perSecond;
  const p50 = st.latencyMs.p50 / b.latencyMs.p50;
  const line = (label: string, a: string, c: string, ratio: string) => `  ${label.padEnd(44)} ${a.padStart(10)} ${c.padStart(10)} ${ratio.padStart(8)}`;
  const r = (a: number, c: number) => `${(a / c).toFixed(2)}×`;
  const out = [
    `bench:engine${args['traced-workflows'] ? ' --traced-workflows' : ''} (concurrency ${CONCURRENCY}, ${rounds.length / 2} rounds of ${LIFECYCLES} per side, ${LATENCY_RUNS} latency runs, load average ${load.toFixed(2)} at start)`,
    line('', 'steward', 'bare', 'ratio'),
    line('throughput register → deployed (lifecycles/s)', f2(st.perSecond), f2(b.perSecond), r(st.perSecond, b.perSecond)),
    ...pairs(rounds).map(([x, y], i) => line(`  round ${i + 1}`, f2(x.perSecond), f2(y.perSecond), r(x.perSecond, y.perSecond))),
    line('  median of the rounds\' ratios', '', '', `${pct(pairs(rounds).map(([x, y]) => x.perSecond / y.perSecond), 50).toFixed(2)}×`),
    line('approval sent → deploy activity start p50 (ms)', f1(st.latencyMs.p50), f1(b.latencyMs.p50), r(st.latencyMs.p50, b.latencyMs.p50)),
    line('approval sent → deploy activity start p99 (ms)', f1(st.latencyMs.p99), f1(b.latencyMs.p99), r(st.latencyMs.p99, b.latencyMs.p99)),
    line('  signal event → deploy scheduled p50 (ms)', f1(st.latencyMs.signalToScheduledP50), f1(b.latencyMs.signalToScheduledP50), r(st.latencyMs.signalToScheduledP50, b.latencyMs.signalToScheduledP50)),
    'per lifecycle, register → deployed:',
    line('  history events', f1(st.perLifecycle.events), f1(b.perLifecycle.events), r(st.perLifecycle.events, b.perLifecycle.events)),
    line('  workflow tasks', f1(st.perLifecycle.workflowTasks), f1(b.perLifecycle.workflowTasks), r(st.perLifecycle.workflowTasks, b.perLifecycle.workflowTasks)),
    line('  activities', f1(st.perLifecycle.activities), f1(b.perLifecycle.activities), r(st.perLifecycle.activities, b.perLifecycle.activities)),
    line('  catalog transactions', f1(st.perLifecycle.catalogTransactions), f1(b.perLifecycle.catalogTransactions), r(st.perLifecycle.catalogTransactions, b.perLifecycle.catalogTransactions)),
    line('  process CPU (worker + API + driver, ms)', f1(st.perLifecycle.cpuMs), f1(b.perLifecycle.cpuMs), r(st.perLifecycle.cpuMs, b.perLifecycle.cpuMs)),
    'activity time under load, p50 queued / p50 run / p99 run (ms):',
    ...[...new Set([...Object.keys(st.activityMs), ...Object.keys(b.activityMs)])].map((type) => {
      const x = st.activityMs[type];
      const y = b.activityMs[type];
      const cell = (a: typeof x) => (a ? `${f1(a.queuedP50)}/${f1(a.runP50)}/${f1(a.runP99)}` : '-');
      return `  ${type.padEnd(24)} steward ${cell(x).padStart(18)} ×${f1(x?.calls ?? 0)}   bare ${cell(y).padStart(18)} ×${f1(y?.calls ?? 0)}`;
    }),
    `goals: throughput ≥ ${GOALS.throughput}× bare: ${tput >= GOALS.throughput ? 'met' : 'MISSED'} (${tput.toFixed(2)}×); approval → deploy start p50 ≤ ${GOALS.latencyP50}× bare: ${p50 <= GOALS.latencyP50 ? 'met' : 'MISSED'} (${p50.toFixed(2)}×)`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

await main();
