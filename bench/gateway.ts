import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createArtifactStager } from '../activities/runtime-staging.js';
import { createApiToken } from '../api/tokens.js';
import { projection, projectDeployment } from '../catalog/projection.js';
import { readManifestFile } from '../cli/manifest-file.js';
import { lifecycleWorkflowId } from '../core/model-id.js';
import { startDevServer } from '../platform/temporal-dev-server.js';
import { readSettingsFromEnv } from '../platform/config.js';
import { modelToServe, runtimeModelName } from '../runtimes/runtime.js';
import { createRuntimes, parseRuntimeTargets } from '../runtimes/targets.js';
import { createTestDatabase } from '../test/harness/index.js';
import { freePort, startPostgresCluster } from '../test/harness/postgres-cluster.js';

/**
 * `npm run bench:gateway`: the scoring gateway's cost. In one run: a Temporal dev server, a throwaway
 * PostgreSQL cluster with a migrated catalog, Steward's built-in runtime (its own process, `npm run runtime`)
 * serving the example ONNX model (examples/credit-scorer), a catalog row making that version the model's
 * champion, and the API (its own process, `npm run api`) with the runtime as its `default` target. Then
 * autocannon sends the same V2 request (examples/credit-scorer/request.json, 8 rows) with the same
 * connections and duration (a) straight to the runtime and (b) through the gateway with a `scorer` token,
 * alternating, and prints requests/s and p50/p99 for both, the throughput ratio and the latency added at p50.
 *
 * Goals (issue 12): gateway throughput ≥ 0.8× direct, < 2 ms added at p50.
 * Environment: BENCH_SECONDS (10 per measurement), BENCH_CONNECTIONS (16), BENCH_ROUNDS (2), BENCH_ROWS (8),
 * BENCH_JSON (where the figures are written; .steward/bench/gateway.json), BENCH_PROFILE (a directory: the
 * runtime and API processes write V8 CPU profiles there).
 */

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP_SECONDS = 3;
/** Rows a request: the example request's 8, or its rows repeated to this many (a heavier model call). */
const ROWS = Number(process.env.BENCH_ROWS ?? 8);

function requestBody(example: string, rows: number): string {
  const request = JSON.parse(example) as { inputs: { shape: number[]; data: unknown[][] }[] };
  const input = request.inputs[0]!;
  const data = Array.from({ length: rows }, (_, i) => input.data[i % input.data.length]!);
  return JSON.stringify({ ...request, inputs: [{ ...input, shape: [rows, input.shape[1]!], data }] });
}

const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const EXAMPLE = join(repoRoot, 'examples', 'credit-scorer');
const JSON_OUT = resolve(process.env.BENCH_JSON ?? join(repoRoot, '.steward', 'bench', 'gateway.json'));

const say = (m: string) => process.stderr.write(`[bench] ${m}\n`);

/** The part of autocannon's API used here (the package ships no types). */
interface AutocannonResult {
  readonly requests: { readonly average: number; readonly total: number };
  readonly latency: { readonly p50: number; readonly p99: number; readonly average: number };
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly duration: number;
}
type Autocannon = (options: {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  connections: number;
  duration: number;
  pipelining?: number;
}) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

interface Figures {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** autocannon's percentiles are whole milliseconds; the mean shows sub-millisecond differences. */
  readonly meanMs: number;
  readonly requests: number;
  readonly failures: number;
  /** CPU time each process spent per request (user + system), in ms: what the machine's cores paid. */
  readonly cpuMsPerRequest: { readonly runtime: number; readonly api: number; readonly loadGenerator: number };
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

async function load(url: string, headers: Record<string, string>, body: string, seconds: number, pids: { runtime?: number; api?: number } = {}, connections = CONNECTIONS): Promise<Figures> {
  const before = { runtime: await cpuSeconds(pids.runtime), api: await cpuSeconds(pids.api), self: process.cpuUsage() };
  const r = await autocannon({ url, method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, connections, duration: seconds });
  const self = process.cpuUsage(before.self);
  const n = Math.max(1, r.requests.total);
  const perRequest = (seconds_: number) => Math.round((seconds_ * 1000 * 1000) / n) / 1000;
  return {
    requestsPerSecond: r.requests.total / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    meanMs: r.latency.average,
    requests: r.requests.total,
    failures: r.non2xx + r.errors + r.timeouts,
    cpuMsPerRequest: {
      runtime: perRequest((await cpuSeconds(pids.runtime)) - before.runtime),
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

    // The built-in runtime in its own process, as `npm run runtime` runs it.
    const repository = join(scratch, 'models');
    await mkdir(repository, { recursive: true });
    const runtimePort = await freePort();
    const runtimeUrl = `http://127.0.0.1:${runtimePort}`;
    const runtimeProc = startProcess('runtime', 'runtimes/builtin/main.ts', { STEWARD_RUNTIME_PORT: String(runtimePort), STEWARD_RUNTIME_REPOSITORY: repository, LOG_LEVEL: 'warn' });
    cleanups.push(() => stopProcess(runtimeProc.child));
    await waitFor('the built-in runtime', `${runtimeUrl}/v2/health/ready`, runtimeProc);

    // The example ONNX model, loaded as a deployment loads it, and the catalog rows making it the champion.
    const manifest = await readManifestFile(join(EXAMPLE, 'manifest.yaml'));
    const versionId = `${manifest.name}@${manifest.version}`;
    const runtimesEnv = JSON.stringify({ default: { kind: 'builtin', url: runtimeUrl, repository } });
    const runtimes = createRuntimes(parseRuntimeTargets({ STEWARD_RUNTIMES: runtimesEnv }), { stage: createArtifactStager(readSettingsFromEnv({ STEWARD_READ_ROOTS: EXAMPLE })) });
    cleanups.push(() => runtimes.close());
    await runtimes.forTarget('default').load(modelToServe(manifest, versionId));
    const at = new Date().toISOString();
    await projection(database.db).registerVersion({ workflowId: lifecycleWorkflowId(manifest), modelVersionId: versionId, manifest, registeredBy: { id: 'bench', roles: ['engineer'] }, lineage: null, at });
    await projectDeployment(database.db, { deploymentId: `${versionId}:bench`, modelName: manifest.name, modelVersionId: versionId, target: 'default', at, strategy: 'replace' });
    const token = await createApiToken(database.db, 'bench-scorer', ['scorer']);

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

    const body = requestBody(await readFile(join(EXAMPLE, 'request.json'), 'utf8'), ROWS);
    const direct = { url: `${runtimeUrl}/v2/models/${runtimeModelName(versionId)}/infer`, headers: {} };
    const gateway = { url: `${apiUrl}/v2/models/${manifest.name}/infer`, headers: { authorization: `Bearer ${token}` } };

    // The gateway answers what the runtime answers.
    const post = (target: typeof direct) => fetch(target.url, { method: 'POST', headers: { 'content-type': 'application/json', ...target.headers }, body }).then(async (r) => ({ status: r.status, json: (await r.json()) as { outputs: unknown; model_name: string } }));
    const [a, b] = [await post(direct), await post(gateway)];
    if (a.status !== 200 || b.status !== 200) throw new Error(`direct answered ${a.status}, gateway ${b.status}: ${JSON.stringify(b.json)}`);
    if (JSON.stringify(a.json.outputs) !== JSON.stringify(b.json.outputs)) throw new Error('the gateway answered differently from the runtime');

    say(`warming up (${WARMUP_SECONDS} s each), then ${ROUNDS} rounds of ${SECONDS} s per path, ${CONNECTIONS} connections, ${availableParallelism()} CPUs`);
    await load(direct.url, direct.headers, body, WARMUP_SECONDS);
    await load(gateway.url, gateway.headers, body, WARMUP_SECONDS);
    const rounds: { direct: Figures; gateway: Figures }[] = [];
    const pids = { runtime: runtimeProc.child.pid, api: apiProc.child.pid };
    for (let i = 0; i < ROUNDS; i++) {
      const d = await load(direct.url, direct.headers, body, SECONDS, pids);
      const g = await load(gateway.url, gateway.headers, body, SECONDS, pids);
      rounds.push({ direct: d, gateway: g });
      say(`round ${i + 1}: direct ${d.requestsPerSecond.toFixed(0)} req/s p50 ${d.p50Ms} ms; gateway ${g.requestsPerSecond.toFixed(0)} req/s p50 ${g.p50Ms} ms`);
    }
    const summarise = (pick: (r: (typeof rounds)[number]) => Figures): Figures => {
      const xs = rounds.map(pick);
      return {
        requestsPerSecond: xs.reduce((n, x) => n + x.requestsPerSecond, 0) / xs.length,
        p50Ms: median(xs.map((x) => x.p50Ms)),
        p99Ms: median(xs.map((x) => x.p99Ms)),
        meanMs: median(xs.map((x) => x.meanMs)),
        requests: xs.reduce((n, x) => n + x.requests, 0),
        failures: xs.reduce((n, x) => n + x.failures, 0),
        cpuMsPerRequest: {
          runtime: median(xs.map((x) => x.cpuMsPerRequest.runtime)),
          api: median(xs.map((x) => x.cpuMsPerRequest.api)),
          loadGenerator: median(xs.map((x) => x.cpuMsPerRequest.loadGenerator)),
        },
      };
    };
    // One connection: the hop's own latency, without queueing behind other requests.
    const single = { direct: await load(direct.url, direct.headers, body, SECONDS, pids, 1), gateway: await load(gateway.url, gateway.headers, body, SECONDS, pids, 1) };
    const d = summarise((r) => r.direct);
    const g = summarise((r) => r.gateway);
    const ratio = g.requestsPerSecond / d.requestsPerSecond;
    const addedP50 = g.p50Ms - d.p50Ms;

    const cpu = (x: number) => x.toFixed(3).padStart(7);
    const row = (name: string, f: Figures) =>
      `| ${name.padEnd(8)} | ${f.requestsPerSecond.toFixed(0).padStart(10)} | ${f.p50Ms.toFixed(2).padStart(8)} | ${f.p99Ms.toFixed(2).padStart(8)} | ${String(f.requests).padStart(9)} | ${String(f.failures).padStart(8)} | ${cpu(f.cpuMsPerRequest.runtime)} | ${cpu(f.cpuMsPerRequest.api)} | ${cpu(f.cpuMsPerRequest.loadGenerator)} |`;
    const out = [
      '',
      `Scoring gateway vs. built-in runtime directly: examples/credit-scorer (ONNX, ${ROWS} rows a request), ${CONNECTIONS} connections, ${ROUNDS} × ${SECONDS} s per path`,
      '',
      '| path     | requests/s |  p50 ms  |  p99 ms  |  requests | failures | CPU ms/request: runtime |     api | autocannon |',
      '|----------|-----------:|---------:|---------:|----------:|---------:|--------:|--------:|--------:|',
      row('direct', d),
      row('gateway', g),
      row('direct¹', single.direct),
      row('gateway¹', single.gateway),
      '',
      '¹ one connection: latency without queueing',
      `added latency at p50 with one connection: ${(single.gateway.p50Ms - single.direct.p50Ms).toFixed(2)} ms (mean ${(single.gateway.meanMs - single.direct.meanMs).toFixed(3)} ms)`,
      `throughput ratio (gateway / direct): ${ratio.toFixed(3)}  (goal ≥ 0.8: ${ratio >= 0.8 ? 'met' : 'NOT met'})`,
      `added latency at p50: ${addedP50.toFixed(2)} ms  (goal < 2 ms: ${addedP50 < 2 ? 'met' : 'NOT met'})`,
      '',
    ];
    process.stdout.write(out.join('\n'));

    const figures = {
      at: new Date().toISOString(),
      model: `examples/credit-scorer (ONNX, ${ROWS} rows a request)`,
      connections: CONNECTIONS,
      secondsPerRound: SECONDS,
      rounds: ROUNDS,
      cpus: availableParallelism(),
      direct: d,
      gateway: g,
      perRound: rounds,
      oneConnection: single,
      addedP50MsOneConnection: single.gateway.p50Ms - single.direct.p50Ms,
      addedMeanMsOneConnection: single.gateway.meanMs - single.direct.meanMs,
      throughputRatio: ratio,
      addedP50Ms: addedP50,
      goals: { throughputRatio: 0.8, addedP50Ms: 2, met: ratio >= 0.8 && addedP50 < 2 },
    };
    await mkdir(dirname(JSON_OUT), { recursive: true });
    await writeFile(JSON_OUT, `${JSON.stringify(figures, null, 2)}\n`);
    say(`figures written to ${JSON_OUT}`);
  } finally {
    await cleanup();
  }
}

await main();
