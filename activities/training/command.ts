import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { z } from 'zod';
import { datasetRefSchema } from '../../core/manifest.js';
import type { CommandRunner, TrainingJob, TrainingOutput } from '../../core/training.js';
import type { ContentStore } from '../../evidence/content-store.js';
import type { TrainingSettings } from './settings.js';

/** Error types a training run fails with for good (the lifecycle records them; retrying would change nothing). */
export const TRAINING_FAILED = 'TrainingFailed';
export const TRAINING_REFUSED = 'TrainingRefused';
/** Each captured stream keeps at most its last this many bytes. */
const LOG_BYTES = 256 * 1024;
/** After SIGTERM the process group gets this long before SIGKILL. */
const KILL_GRACE_MS = 5_000;
const HEARTBEAT_MS = 2_000;
const RESULT_FILE = 'result.json';

/** What a training command may write to `{out}/result.json`; without it every file in `{out}` is an artifact. */
const resultSchema = z.strictObject({
  artifacts: z
    .array(z.strictObject({ path: z.string().min(1), name: z.string().optional() }))
    .min(1, 'must list at least one file')
    .optional(),
  metrics: z.record(z.string(), z.number().finite()).default({}),
  trainingData: z.array(datasetRefSchema).optional(),
});

const refused = (message: string) => ApplicationFailure.create({ type: TRAINING_REFUSED, message, nonRetryable: true });

/** The run's output directory: one per run key, so a retried attempt starts again in the same place. */
export function outputDirOf(settings: TrainingSettings, job: TrainingJob): string {
  const key = createHash('sha256').update(job.runKey).digest('hex').slice(0, 16);
  return join(settings.outputDir, job.modelName, `${job.version}-${key}`);
}

const localPath = (uri: string | undefined) => (uri?.startsWith('file://') ? fileURLToPath(uri) : '');

function expand(argv: readonly string[], values: Record<string, string>): string[] {
  return argv.map((arg) =>
    arg.replace(/\{([A-Za-z]+)\}/g, (whole, name: string) => {
      const value = values[name];
      if (value === undefined) throw refused(`runner.argv: unknown placeholder ${whole} (known: ${Object.keys(values).map((k) => `{${k}}`).join(', ')})`);
      if (value === '') throw refused(`runner.argv: ${whole} has no value for this model (it needs a file:// URI)`);
      return value;
    }),
  );
}

/** Keeps the last `LOG_BYTES` of a stream. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  total = 0;
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.total += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= LOG_BYTES) this.size -= this.chunks.shift()!.length;
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - LOG_BYTES)).toString('utf8');
  }
}

/**
 * Runs a template's training command on this worker: argv with placeholders filled in (no shell), in its
 * working directory, in a process group of its own. Heartbeats while it runs; a cancellation (retire, the
 * lifecycle ending) or the runner's timeout kills the whole group. stdout and stderr go to the evidence
 * content store, their digest to history. The outputs are listed by `{out}/result.json` or are the files in
 * `{out}`; they are returned as file URIs for the workflow to fingerprint.
 */
export async function runCommand(job: TrainingJob, runner: CommandRunner, settings: TrainingSettings, evidence: ContentStore): Promise<TrainingOutput> {
  const context = Context.current();
  const out = outputDirOf(settings, job);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const [program, ...args] = expand(runner.argv, {
    out,
    data: localPath(job.trainingData[0]?.uri),
    dataUri: job.trainingData[0]?.uri ?? '',
    model: localPath(job.parentArtifacts[0]?.uri),
    name: job.modelName,
    version: job.version,
    parentVersion: job.parentVersion,
  });
  const executable = settings.commands[program!] ?? program!;
  const cwd = resolve(runner.cwd ?? '.');
  const started = Date.now();
  const stdout = new Tail();
  const stderr = new Tail();
  const child = spawn(executable, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STEWARD_TRAINING_OUT: out } });
  child.stdout.on('data', (c: Buffer) => stdout.push(c));
  child.stderr.on('data', (c: Buffer) => stderr.push(c));

  let killedBecause: 'cancelled' | 'timeout' | null = null;
  let forceKill: NodeJS.Timeout | undefined;
  const killGroup = (why: 'cancelled' | 'timeout') => {
    if (killedBecause || child.exitCode !== null || child.pid === undefined) return;
    killedBecause = why;
    const signal = (s: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, s);
      } catch {
        // already gone
      }
    };
    signal('SIGTERM');
    forceKill = setTimeout(() => signal('SIGKILL'), KILL_GRACE_MS);
  };
  const onCancel = () => killGroup('cancelled');
  context.cancellationSignal.addEventListener('abort', onCancel);
  const timeout = setTimeout(() => killGroup('timeout'), runner.timeoutMs);
  const heartbeat = setInterval(() => context.heartbeat({ elapsedMs: Date.now() - started, stdoutBytes: stdout.total, stderrBytes: stderr.total }), HEARTBEAT_MS);

  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((done) => {
    child.once('error', (error) => done({ code: null, signal: null, error }));
    child.once('close', (code, signal) => done({ code, signal }));
  });
  clearInterval(heartbeat);
  clearTimeout(timeout);
  clearTimeout(forceKill);
  context.cancellationSignal.removeEventListener('abort', onCancel);
  const durationMs = Date.now() - started;

  const logDigest = await evidence.put({
    kind: 'training-log',
    runKey: job.runKey,
    argv: [executable, ...args],
    cwd,
    exitCode: exit.code,
    signal: exit.signal,
    ...(exit.error ? { error: exit.error.message } : {}),
    ...(killedBecause ? { killed: killedBecause } : {}),
    durationMs,
    stdout: stdout.text(),
    stderr: stderr.text(),
  });
  if (killedBecause === 'cancelled') throw new CancelledFailure('training cancelled; the process group was killed');
  const lastLine = stderr.text().trim().split('\n').at(-1) ?? '';
  const failed = (message: string) => ApplicationFailure.create({ type: TRAINING_FAILED, message, nonRetryable: true, details: [{ logDigest }] });
  if (killedBecause === 'timeout') throw failed(`training command ran past its timeout of ${runner.timeoutMs} ms and was killed (log ${logDigest})`);
  if (exit.error) throw failed(`training command ${executable} could not start: ${exit.error.message}`);
  if (exit.code !== 0) throw failed(`training command exited with ${exit.code === null ? `signal ${exit.signal}` : `code ${exit.code}`}${lastLine ? `: ${lastLine.slice(0, 500)}` : ''} (log ${logDigest})`);

  const result = await readResult(out);
  return {
    artifacts: result.artifacts,
    metrics: result.metrics,
    trainingData: result.trainingData ?? job.trainingData,
    logDigest,
    summary: { exitCode: 0, durationMs },
  };
}

async function readResult(out: string) {
  let raw: string | null = null;
  try {
    raw = await readFile(join(out, RESULT_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (raw === null) return { artifacts: await filesIn(out), metrics: {} as Record<string, number>, trainingData: undefined };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw ApplicationFailure.create({ type: TRAINING_FAILED, message: `${RESULT_FILE} is not JSON: ${(err as Error).message}`, nonRetryable: true });
  }
  const parsed = resultSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${[RESULT_FILE, ...i.path].join('.')}: ${i.message}`).join('; ');
    throw ApplicationFailure.create({ type: TRAINING_FAILED, message: problems, nonRetryable: true });
  }
  if (!parsed.data.artifacts) return { artifacts: await filesIn(out), metrics: parsed.data.metrics, trainingData: parsed.data.trainingData };
  const listed = parsed.data.artifacts;
  const artifacts = [];
  for (const a of listed) {
    const path = resolve(out, a.path);
    const inside = relative(out, path);
    if (inside.startsWith('..') || isAbsolute(inside)) throw ApplicationFailure.create({ type: TRAINING_FAILED, message: `${RESULT_FILE}.artifacts: ${a.path} is outside the output directory`, nonRetryable: true });
    if (!(await stat(path).catch(() => null))?.isFile()) throw ApplicationFailure.create({ type: TRAINING_FAILED, message: `${RESULT_FILE}.artifacts: ${a.path} was not written`, nonRetryable: true });
    artifacts.push({ uri: pathToFileURL(path).href, ...(a.name ? { name: a.name } : {}) });
  }
  return { artifacts, metrics: parsed.data.metrics, trainingData: parsed.data.trainingData };
}

/** Every file the run wrote into `{out}` (not its result.json), in name order. */
async function filesIn(out: string): Promise<{ uri: string }[]> {
  const entries = await readdir(out, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name !== RESULT_FILE)
    .map((e) => e.name)
    .sort()
    .map((name) => ({ uri: pathToFileURL(join(out, name)).href }));
}
