import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import { createArtifactStager } from '../activities/runtime-staging.js';
import { createApiToken } from '../api/tokens.js';
import { projection, projectDeployment } from '../catalog/projection.js';
import { readManifestFile } from '../cli/manifest-file.js';
import { manifestSchema, type ModelManifest } from '../core/manifest.js';
import { lifecycleWorkflowId } from '../core/model-id.js';
import { startDevServer } from '../platform/temporal-dev-server.js';
import { readSettingsFromEnv } from '../platform/config.js';
import { modelToServe, runtimeModelName } from '../runtimes/runtime.js';
import { createRuntimes, parseRuntimeTargets } from '../runtimes/targets.js';
import { createTestDatabase } from '../test/harness/index.js';
import { sampleManifest } from '../test/harness/manifests.js';
import { MLSERVER_VERSION, startMlserver, trainSklearnModel } from '../test/harness/mlserver.js';
import { startPostgresCluster } from '../test/harness/postgres-cluster.js';
import { freePort } from '../test/harness/ports.js';

/**
 * `npm run bench:gateway`: the scoring gateway's cost, measured against each runtime Steward supports. In one
 * run: a Temporal dev server, a throwaway PostgreSQL cluster with a migrated catalog, and the API (its own
 * process, `npm run api`) scoring on two deployment targets:
 *   - Steward's built-in runtime (its own process, `npm run runtime`) serving the example ONNX model
 *     (examples/credit-scorer), and
 *   - MLServer 1.7.1 (the test harness's cached venv) serving the seeded scikit-learn classifier the tests
 *     train (test/harness/train_sklearn.py),
 * each model made its name's champion in the catalog. For each runtime autocannon sends the same V2 request
 * straight to the runtime and through the gateway (a `scorer` token), and the bench prints, per runtime:
 *   - throughput at saturation: the same connections both ways, rounds alternating, requests/s and the ratio;
 *   - latency added at a fixed offered rate below both paths' saturation (half the slower path's maximum): p50/p99
 *     both ways and the difference, measured per response in microseconds (autocannon's own percentiles
 *     are whole milliseconds);
 *   - latency added on one connection (no queueing at all).
 *
 * Goals (issue 12): gateway throughput ≥ 0.8× direct, < 2 ms added at p50.
 * Environment: BENCH_SECONDS (10 per measurement), BENCH_CONNECTIONS (16), BENCH_ROUNDS (2), BENCH_ROWS (8),
 * BENCH_RUNTIMES (builtin,mlserver), BENCH_RATE_SHARE (0.5: the fixed rate as a share of the slower
 * path's maximum), BENCH_JSON (where the figures are written; .steward/bench/gateway.json), BENCH_PROFILE (a
 * directory: the runtime and API processes write V8 CPU profiles there).
 */

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP_SECONDS = 3;
/** Rows a request: the example request's 8, or its rows repeated to this many (a heavier model call). */
const ROWS = Number(process.env.BENCH_ROWS ?? 8);
const RATE_SHARE = Number(process.env.BENCH_RATE_SHARE ?? 0.5);
const RUNTIMES = new Set((process.env.BENCH_RUNTIMES ?? 'builtin,mlserver').split(',').map((r) => r.trim()));

/** A V2 request of `rows` rows of a single [N, width] input, repeating the given rows. */
function requestBody(name: string, datatype: string, rows: readonly (readonly number[])[], count: number): string {
  const data = Array.from({ length: count }, (_, i) => rows[i % rows.length]!);
  return JSON.stringify({ id: 'bench', inputs: [{ name, shape: [count, rows[0]!.length], datatype, data }] });
}

const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const EXAMPLE = join(repoRoot, 'examples', 'credit-scorer');
const JSON_OUT = resolve(process.env.BENCH_JSON ?? join(repoRoot, '.steward', 'bench', 'gateway.json'));

const say = (m: string) => process.stderr.write(`[bench] ${m}\n`);

/** The part of autocannon's API used here (the package ships no types). */
interface AutocannonResult {
  readonly requests: { readonly average: number; readonly total: number };
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly duration: number;
}
interface AutocannonRun extends PromiseLike<AutocannonResult> {
  on(event: 'response', listener: (client: unknown, statusCode: number, bytes: number, responseTimeMs: number) => void): void;
}
type Autocannon = (options: {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  connections: number;
  duration: number;
  overallRate?: number;
}) => AutocannonRun;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

interface Figures {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly requests: number;
  readonly failures: number;
  /** CPU time each process spent per request (user + system), in ms: what the machine's cores paid. */
  readonly cpuMsPerRequest: { readonly runtime: number | null; readonly api: number; readonly loadGenerator: number };
}

/** CPU seconds a process has used so far (Linux /proc; 0 elsewhere). */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (!pid) return 0;
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

interface Path {
  readonly url: string;
  readonly headers: Record<string, string>;
}

/** One autocannon run; latencies are taken per response in microseconds. `rate`: a fixed offered rate. */
async function load(path: Path, body: string, seconds: number, pids: { runtime?: number | undefined; api?: number | undefined }, connections: number, rate?: number): Promise<Figures> {
  const before = { runtime: await cpuSeconds(pids.runtime), api: await cpuSeconds(pids.api), self: process.cpuUsage() };
  const latency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
  const run = autocannon({
    url: path.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...path.headers },
    body,
    connections,
    duration: seconds,
    ...(rate ? { overallRate: rate } : {}),
  });
  run.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latency.recordValue(Math.max(1, Math.round(ms * 1000)));
  });
  const r = await run;
  const self = process.cpuUsage(before.self);
  const n = Math.max(1, r.requests.total);
  const perRequest = (seconds_: number) => Math.round((seconds_ * 1000 * 1000) / n) / 1000;
  return {
    requestsPerSecond: r.requests.total / r.duration,
    p50Ms: latency.getValueAtPercentile(50) / 1000,
    p99Ms: latency.getValueAtPercentile(99) / 1000,
    meanMs: latency.mean / 1000,
    requests: r.requests.total,
    failures: r.non2xx + r.errors + r.timeouts,
    cpuMsPerRequest: {
      runtime: pids.runtime ? perRequest((await cpuSeconds(pids.runtime)) - before.runtime) : null,
      api: perRequest((await cpuSeconds(pids.api)) - before.api),
      loadGenerator: perRequest((self.user + self.system) / 1e6),
    },
  };
}

/** A Steward process (`tsx <entry>`), its output kept for the error message if it dies. */
function startProcess(name: string, entry: string, env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = '';
  // BENCH_PROFILE=<dir>: each process writes a V8 CPU profile there when it exits.
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', resolve(process.env.BENCH_PROFILE)] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', entry], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') say(`${name} exited (${code ?? signal}):\n${output}`);
  });
  return { child, output: () => output };
}

async function waitFor(what: string, url: string, proc: { child: ChildProcess; output: () => string }, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`${what} exited before it was ready:\n${proc.output()}`);
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready at ${url} within ${timeoutMs / 1000} s:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** One runtime as the bench measures it: the same request straight to it and through the gateway. */
interface Subject {
  readonly key: 'builtin' | 'mlserver';
  readonly title: string;
  readonly model: string;
  readonly body: string;
  readonly direct: Path;
  readonly gateway: Path;
  /** The runtime's process, for its CPU per request (MLServer's is not tracked). */
  readonly runtimePid: number | undefined;
}

interface Measured {
  readonly runtime: string;
  readonly model: string;
  readonly saturation: { readonly connections: number; readonly direct: Figures; readonly gateway: Figures; readonly perRound: { direct: Figures; gateway: Figures }[] };
  readonly fixedRate: { readonly requestsPerSecond: number; readonly connections: number; readonly direct: Figures; readonly gateway: Figures };
  readonly oneConnection: { readonly direct: Figures; readonly gateway: Figures };
  readonly throughputRatio: number;
  readonly addedP50Ms: { readonly fixedRate: number; readonly saturation: number; readonly oneConnection: number };
  readonly addedP99MsFixedRate: number;
  readonly goals: { readonly throughputRatio: boolean; readonly addedP50Ms: boolean };
}

const mean = (xs: readonly number[]) => xs.reduce((n, x) => n + x, 0) / xs.length;
const summarise = (xs: readonly Figures[]): Figures => ({
  requestsPerSecond: mean(xs.map((x) => x.requestsPerSecond)),
  p50Ms: median(xs.map((x) => x.p50Ms)),
  p99Ms: median(xs.map((x) => x.p99Ms)),
  meanMs: median(xs.map((x) => x.meanMs)),
  requests: xs.reduce((n, x) => n + x.requests, 0),
  failures: xs.reduce((n, x) => n + x.failures, 0),
  cpuMsPerRequest: {
    runtime: xs[0]!.cpuMsPerRequest.runtime === null ? null : median(xs.map((x) => x.cpuMsPerRequest.runtime ?? 0)),
    api: median(xs.map((x) => x.cpuMsPerRequest.api)),
    loadGenerator: median(xs.map((x) => x.cpuMsPerRequest.loadGenerator)),
  },
});

async function measure(subject: Subject, apiPid: number | undefined): Promise<Measured> {
  const pids = { runtime: subject.runtimePid, api: apiPid };
  // The gateway answers what the runtime answers.
  const post = (target: Path) =>
    fetch(target.url, { method: 'POST', headers: { 'content-type': 'application/json', ...target.headers }, body: subject.body }).then(async (r) => ({ status: r.status, json: (await r.json()) as { outputs: unknown } }));
  const [a, b] = [await post(subject.direct), await post(subject.gateway)];
  if (a.status !== 200 || b.status !== 200) throw new Error(`${subject.title}: direct answered ${a.status}, gateway ${b.status}: ${JSON.stringify(b.json)}`);
  if (JSON.stringify(a.json.outputs) !== JSON.stringify(b.json.outputs)) throw new Error(`${subject.title}: the gateway answered differently from the runtime`);

  say(`${subject.title}: warming up (${WARMUP_SECONDS} s each way), then ${ROUNDS} rounds of ${SECONDS} s each way at saturation, ${CONNECTIONS} connections`);
  await load(subject.direct, subject.body, WARMUP_SECONDS, {}, CONNECTIONS);
  await load(subject.gateway, subject.body, WARMUP_SECONDS, {}, CONNECTIONS);
  const rounds: { direct: Figures; gateway: Figures }[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const d = await load(subject.direct, subject.body, SECONDS, pids, CONNECTIONS);
    const g = await load(subject.gateway, subject.body, SECONDS, pids, CONNECTIONS);
    rounds.push({ direct: d, gateway: g });
    say(`${subject.title} round ${i + 1}: direct ${d.requestsPerSecond.toFixed(0)} req/s, gateway ${g.requestsPerSecond.toFixed(0)} req/s`);
  }
  const direct = summarise(rounds.map((r) => r.direct));
  const gateway = summarise(rounds.map((r) => r.gateway));

  // Below both paths' saturation: what a request pays for the hop when neither side queues.
  const rate = Math.max(1, Math.round(Math.min(direct.requestsPerSecond, gateway.requestsPerSecond) * RATE_SHARE));
  say(`${subject.title}: ${rate} requests/s offered each way for ${SECONDS} s`);
  const fixed = { direct: await load(subject.direct, subject.body, SECONDS, pids, CONNECTIONS, rate), gateway: await load(subject.gateway, subject.body, SECONDS, pids, CONNECTIONS, rate) };
  const single = { direct: await load(subject.direct, subject.body, SECONDS, pids, 1), gateway: await load(subject.gateway, subject.body, SECONDS, pids, 1) };
  const ratio = gateway.requestsPerSecond / direct.requestsPerSecond;
  const added = { fixedRate: fixed.gateway.p50Ms - fixed.direct.p50Ms, saturation: gateway.p50Ms - direct.p50Ms, oneConnection: single.gateway.p50Ms - single.direct.p50Ms };
  return {
    runtime: subject.title,
    model: subject.model,
    saturation: { connections: CONNECTIONS, direct, gateway, perRound: rounds },
    fixedRate: { requestsPerSecond: rate, connections: CONNECTIONS, ...fixed },
    oneConnection: single,
    throughputRatio: ratio,
    addedP50Ms: added,
    addedP99MsFixedRate: fixed.gateway.p99Ms - fixed.direct.p99Ms,
    goals: { throughputRatio: ratio >= 0.8, addedP50Ms: added.fixedRate < 2 },
  };
}

function report(m: Measured): string {
  const ms = (x: number) => x.toFixed(2).padStart(7);
  const cpu = (x: number | null) => (x === null ? '      -' : x.toFixed(3).padStart(7));
  const row = (what: string, path: string, f: Figures) =>
    `| ${what.padEnd(24)} | ${path.padEnd(7)} | ${f.requestsPerSecond.toFixed(0).padStart(6)} | ${ms(f.p50Ms)} | ${ms(f.p99Ms)} | ${ms(f.meanMs)} | ${String(f.failures).padStart(4)} | ${cpu(f.cpuMsPerRequest.runtime)} | ${cpu(f.cpuMsPerRequest.api)} | ${cpu(f.cpuMsPerRequest.loadGenerator)} |`;
  const saturation = `saturation, ${m.saturation.connections} conn`;
  const fixed = `${m.fixedRate.requestsPerSecond} req/s, ${m.fixedRate.connections} conn`;
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  return [
    '',
    `${m.runtime}: ${m.model}`,
    '',
    '| load                     | path    |  req/s | p50 ms  | p99 ms  | mean ms | fail | CPU ms/request: runtime | api | autocannon |',
    '|--------------------------|---------|-------:|--------:|--------:|--------:|-----:|--------:|--------:|--------:|',
    row(saturation, 'direct', m.saturation.direct),
    row(saturation, 'gateway', m.saturation.gateway),
    row(fixed, 'direct', m.fixedRate.direct),
    row(fixed, 'gateway', m.fixedRate.gateway),
    row('1 connection', 'direct', m.oneConnection.direct),
    row('1 connection', 'gateway', m.oneConnection.gateway),
    '',
    `throughput ratio at saturation (gateway / direct): ${m.throughputRatio.toFixed(3)}  (goal ≥ 0.8: ${verdict(m.goals.throughputRatio)})`,
    `added at p50, ${fixed}: ${m.addedP50Ms.fixedRate.toFixed(2)} ms  (goal < 2 ms: ${verdict(m.goals.addedP50Ms)}); at p99: ${m.addedP99MsFixedRate.toFixed(2)} ms`,
    `added at p50, one connection: ${m.addedP50Ms.oneConnection.toFixed(3)} ms; at saturation (queueing included): ${m.addedP50Ms.saturation.toFixed(2)} ms`,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => say(`cleanup: ${String(err)}`));
  };
  try {
    const started = Date.now();
    const [temporal, postgres] = await Promise.all([startDevServer(), startPostgresCluster()]);
    cleanups.push(() => temporal.stop(), () => postgres.stop());
    const database = await createTestDatabase(postgres.url);
    cleanups.push(() => database.drop());
    const scratch = await mkdtemp(join(tmpdir(), 'steward-bench-gateway-'));
    cleanups.push(() => rm(scratch, { recursive: true, force: true }));
    say(`Temporal ${temporal.address}, PostgreSQL ready in ${Date.now() - started} ms`);
    const token = await createApiToken(database.db, 'bench-scorer', ['scorer']);
    const at = new Date().toISOString();
    /** Makes a version its name's champion in the catalog, as a deployment does. */
    const champion = async (manifest: ModelManifest, target: string) => {
      const versionId = `${manifest.name}@${manifest.version}`;
      await projection(database.db).registerVersion({ workflowId: lifecycleWorkflowId(manifest), modelVersionId: versionId, manifest, registeredBy: { id: 'bench', roles: ['engineer'] }, lineage: null, at });
      await projectDeployment(database.db, { deploymentId: `${versionId}:bench`, modelName: manifest.name, modelVersionId: versionId, target, at, strategy: 'replace' });
      return versionId;
    };

    const targets: Record<string, { kind: string; url: string; repository: string }> = {};
    const pending: { key: Subject['key']; title: string; model: string; body: string; runtimeUrl: string; versionId: string; manifest: ModelManifest; runtimePid: number | undefined }[] = [];
    const skipped: string[] = [];

    if (RUNTIMES.has('builtin')) {
      // The built-in runtime in its own process, as `npm run runtime` runs it.
      const repository = join(scratch, 'builtin-models');
      await mkdir(repository, { recursive: true });
      const runtimePort = await freePort();
      const runtimeUrl = `http://127.0.0.1:${runtimePort}`;
      const runtimeProc = startProcess('runtime', 'runtimes/builtin/main.ts', { STEWARD_RUNTIME_PORT: String(runtimePort), STEWARD_RUNTIME_REPOSITORY: repository, LOG_LEVEL: 'warn' });
      cleanups.push(() => stopProcess(runtimeProc.child));
      await waitFor('the built-in runtime', `${runtimeUrl}/v2/health/ready`, runtimeProc);
      const manifest = await readManifestFile(join(EXAMPLE, 'manifest.yaml'));
      const versionId = await champion(manifest, 'builtin');
      targets.builtin = { kind: 'builtin', url: runtimeUrl, repository };
      const example = JSON.parse(await readFile(join(EXAMPLE, 'request.json'), 'utf8')) as { inputs: { name: string; datatype: string; data: number[][] }[] };
      const input = example.inputs[0]!;
      pending.push({
        key: 'builtin',
        title: 'Built-in runtime',
        model: `examples/credit-scorer (ONNX logistic regression, ${ROWS} rows a request), runtime in its own Node process`,
        body: requestBody(input.name, input.datatype, input.data, ROWS),
        runtimeUrl,
        versionId,
        manifest,
        runtimePid: runtimeProc.child.pid,
      });
    }

    if (RUNTIMES.has('mlserver')) {
      try {
        const trained = await trainSklearnModel(join(scratch, 'sklearn'));
        const mlserver = await startMlserver({ repository: join(scratch, 'mlserver-models') });
        cleanups.push(() => mlserver.stop());
        const manifest = manifestSchema.parse(
          await sampleManifest({
            exactName: 'bench-sklearn',
            kind: 'ml',
            framework: 'scikit-learn',
            riskTier: 'medium',
            deploymentTarget: 'mlserver',
            artifacts: [{ uri: pathToFileURL(trained.modelPath).href, sha256: trained.sha256, name: 'model' }],
            inputSchema: ['f0', 'f1', 'f2', 'f3'].map((name) => ({ name, type: 'number' as const })),
            outputSchema: [{ name: 'predict', type: 'integer' }],
            protectedAttributes: [],
            metrics: { auc: 0.93 },
          }),
        );
        const versionId = await champion(manifest, 'mlserver');
        targets.mlserver = { kind: 'mlserver', url: mlserver.url, repository: mlserver.repository };
        pending.push({
          key: 'mlserver',
          title: `MLServer ${MLSERVER_VERSION}`,
          model: `scikit-learn LogisticRegression (test/harness/train_sklearn.py, ${ROWS} rows a request), parallel_workers 0`,
          body: requestBody('features', 'FP64', trained.inputs, ROWS),
          runtimeUrl: mlserver.url,
          versionId,
          manifest,
          runtimePid: undefined,
        });
      } catch (err) {
        skipped.push(`MLServer ${MLSERVER_VERSION}: not measured: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
        say(skipped.at(-1)!);
      }
    }
    if (pending.length === 0) throw new Error(`no runtime to measure (BENCH_RUNTIMES=${[...RUNTIMES].join(',')}); ${skipped.join('; ')}`);

    // Each model loaded as a deployment loads it.
    const runtimesEnv = JSON.stringify(targets);
    const runtimes = createRuntimes(parseRuntimeTargets({ STEWARD_RUNTIMES: runtimesEnv }), { stage: createArtifactStager(readSettingsFromEnv({ STEWARD_READ_ROOTS: [EXAMPLE, scratch].join(delimiter) })) });
    cleanups.push(() => runtimes.close());
    for (const p of pending) await runtimes.forTarget(p.key).load(modelToServe(p.manifest, p.versionId));

    // The API in its own process, as `npm run api` runs it.
    const apiPort = await freePort();
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const apiProc = startProcess('api', 'api/main.ts', {
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: temporal.address,
      HOST: '127.0.0.1',
      PORT: String(apiPort),
      STEWARD_DATA_DIR: join(scratch, 'data'),
      STEWARD_RUNTIMES: runtimesEnv,
      LOG_LEVEL: 'warn',
    });
    cleanups.push(() => stopProcess(apiProc.child));
    await waitFor('the API', `${apiUrl}/v2/health/ready`, apiProc);
    say(`${availableParallelism()} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} before measuring`);

    const measured: Measured[] = [];
    for (const p of pending) {
      const subject: Subject = {
        key: p.key,
        title: p.title,
        model: p.model,
        body: p.body,
        direct: { url: `${p.runtimeUrl}/v2/models/${runtimeModelName(p.versionId)}/infer`, headers: {} },
        gateway: { url: `${apiUrl}/v2/models/${p.manifest.name}/infer`, headers: { authorization: `Bearer ${token}` } },
        runtimePid: p.runtimePid,
      };
      const m = await measure(subject, apiProc.child.pid);
      measured.push(m);
      process.stdout.write(report(m));
    }
    const load = loadavg();
    process.stdout.write(
      [
        ...skipped.map((s) => `\n${s}`),
        `\n${availableParallelism()} CPUs shared by the load generator, the API and the runtime; load average after: ${load.map((l) => l.toFixed(2)).join(' ')}`,
        '',
      ].join('\n'),
    );

    const figures = { at: new Date().toISOString(), cpus: availableParallelism(), loadAverageAfter: load, secondsPerMeasurement: SECONDS, rounds: ROUNDS, rows: ROWS, runtimes: measured, skipped };
    await mkdir(dirname(JSON_OUT), { recursive: true });
    await writeFile(JSON_OUT, `${JSON.stringify(figures, null, 2)}\n`);
    say(`figures written to ${JSON_OUT}`);
  } finally {
    await cleanup();
  }
}

await main();
