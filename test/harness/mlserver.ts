import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { ensureVenv } from './python-venv.js';

const run = promisify(execFile);

/**
 * A real MLServer for the runtime tests: installed once per machine into a Python virtual environment in the
 * per-user cache (like the Temporal CLI and the Java test server), started per test file on free ports with
 * its model repository in the test's temp directory.
 */
export const MLSERVER_VERSION = '1.7.1';
/** joblib comes with scikit-learn; it is named because the training script imports it. */
const REQUIREMENTS = [`mlserver==${MLSERVER_VERSION}`, `mlserver-sklearn==${MLSERVER_VERSION}`, 'scikit-learn', 'joblib'];

export { PythonVenvError as MlserverNotFoundError } from './python-venv.js';

export interface MlserverInstall {
  readonly venv: string;
  readonly python: string;
  readonly mlserver: string;
  readonly source: 'cache' | 'pip';
}

/** MLServer's cached virtual environment (see python-venv.ts); pip runs only the first time, for a few minutes. */
export async function ensureMlserver(options: { say?: (m: string) => void; env?: NodeJS.ProcessEnv } = {}): Promise<MlserverInstall> {
  const venv = await ensureVenv({ name: `mlserver-${MLSERVER_VERSION}`, requirements: REQUIREMENTS, purpose: 'the MLServer tests', probe: 'mlserver' }, options);
  return { venv: venv.venv, python: venv.python, mlserver: join(venv.bin, 'mlserver'), source: venv.source };
}

export interface RunningMlserver {
  /** Base URL of its V2 REST endpoint. */
  readonly url: string;
  readonly repository: string;
  /** What it has logged so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts MLServer on free loopback ports serving `repository`, and resolves once `/v2/health/ready` answers
 * 200. `parallel_workers: 0` scores in the server process: MLServer 1.7.1's inference pool workers crash
 * under uvloop 0.23 ("There is no current event loop"). Models load only when asked (`load_models_at_startup`
 * false), as Steward drives them.
 */
export async function startMlserver(options: { repository: string; timeoutMs?: number }): Promise<RunningMlserver> {
  const { mlserver } = await ensureMlserver();
  const [http, grpc, metrics] = [await freePort(), await freePort(), await freePort()];
  // `mlserver start <folder>` reads settings.json from the folder and serves the folder as its repository.
  await mkdir(options.repository, { recursive: true });
  const settings = {
    debug: false,
    host: '127.0.0.1',
    http_port: http,
    grpc_port: grpc,
    metrics_port: metrics,
    parallel_workers: 0,
    load_models_at_startup: false,
  };
  await writeFile(join(options.repository, 'settings.json'), JSON.stringify(settings, null, 2));
  // Its own process group, so stop() reaches anything it starts.
  const child = spawn(mlserver, ['start', options.repository], { cwd: options.repository, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-64 * 1024);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = once(child, 'exit');
  let running = true;
  void exited.then(() => {
    running = false;
  });

  const url = `http://127.0.0.1:${http}`;
  const stop = async () => {
    if (running && child.pid) {
      process.kill(-child.pid, 'SIGTERM');
      const killed = setTimeout(() => running && child.pid && process.kill(-child.pid, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(killed);
    }
  };

  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  for (;;) {
    if (!running) {
      await stop();
      throw new Error(`MLServer exited before it was ready:\n${output}`);
    }
    const ready = await fetch(`${url}/v2/health/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`MLServer was not ready within ${(options.timeoutMs ?? 90_000) / 1000} s:\n${output}`);
    }
    await sleep(200);
  }
  return { url, repository: options.repository, log: () => output, stop };
}

export interface TrainedSklearnModel {
  readonly modelPath: string;
  readonly sha256: string;
  readonly inputs: number[][];
  readonly predictions: number[];
  readonly probabilities: number[][];
}

/** Trains the seeded test classifier into `dir` with scikit-learn in MLServer's environment (train_sklearn.py). */
export async function trainSklearnModel(dir: string): Promise<TrainedSklearnModel> {
  const { python } = await ensureMlserver();
  await run(python, [fileURLToPath(new URL('./train_sklearn.py', import.meta.url)), dir]);
  const modelPath = join(dir, 'model.joblib');
  const expected = JSON.parse(await readFile(join(dir, 'expected.json'), 'utf8')) as Omit<TrainedSklearnModel, 'modelPath' | 'sha256'>;
  const sha256 = createHash('sha256').update(await readFile(modelPath)).digest('hex');
  return { modelPath, sha256, ...expected };
}
