import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ModelManifest } from '../core/manifest.js';
import type { InferenceRequest, Tensor } from '../runtimes/protocol.js';
import { RuntimeError } from '../runtimes/oip.js';
import { runtimeModelName, type ModelRuntime } from '../runtimes/runtime.js';
import type { Runtimes } from '../runtimes/targets.js';
import { DatasetProblem, formatOf, MISSING, readProblem, rowsOf } from './datasets.js';
import { activityReadControl, datasetReads, openUri, type ReadOptions, type ReadSettings } from './read-uri.js';

/**
 * Batch scoring on the compute queue: a CSV (header row) or JSON Lines file of inputs is read through the
 * allow-listed reader, scored in chunks by the runtime serving the model version, and the predictions are
 * written as JSON Lines (`{"row": <data row, from 1>, "outputs": {<output>: <value>}}`) to the batch output
 * directory. The file appears under its final name only when complete, so a retried or cancelled run never
 * leaves half a result behind, and the same batch id always names the same file.
 */

type Field = ModelManifest['inputSchema'][number];

export interface BatchScoringRequest {
  /** Names the output file (`<batchId>.jsonl`); letters, digits, ".", "_", "-". */
  readonly batchId: string;
  /** The model version to score with, e.g. `credit-decision@1.0.0`; it must be loaded on the target. */
  readonly modelVersionId: string;
  /** The manifest's `deploymentTarget`. */
  readonly deploymentTarget: string;
  /** The manifest's input fields: which columns are sent, in this order, and as which tensor types. */
  readonly inputSchema: readonly Field[];
  readonly inputUri: string;
  /** When given, the input's bytes must have this digest. */
  readonly inputSha256?: string;
  /** Rows per inference request (default 256). */
  readonly chunkRows?: number;
}

export interface BatchScoringResult {
  readonly rows: number;
  /** `file://` URI of the predictions (JSON Lines). */
  readonly outputUri: string;
  /** Digest of the predictions file. */
  readonly sha256: string;
  /** Digest of the input as read. */
  readonly inputSha256: string;
}

export interface BatchScoringDeps {
  readonly runtimes: Pick<Runtimes, 'forTarget'>;
  readonly reading: ReadSettings;
  /** STEWARD_BATCH_OUTPUT_DIR. */
  readonly outputDir: string;
}

const DEFAULT_CHUNK_ROWS = 256;
const BATCH_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const NUMERIC = new Set<Field['type']>(['number', 'integer']);

type Scalar = number | string | boolean | null;

/** One cell as its field's type; a value that is not one is a DatasetProblem naming row and column. */
function cell(field: Field, raw: unknown, row: number, uri: string): Scalar {
  const text = typeof raw === 'string' ? raw.trim() : raw;
  const missing = text === null || text === undefined || (typeof text === 'string' && MISSING.has(text));
  if (missing) {
    if (!field.nullable) throw new DatasetProblem(`${uri}: row ${row}, column ${field.name}: a value is required`);
    return null;
  }
  const bad = () => new DatasetProblem(`${uri}: row ${row}, column ${field.name}: ${JSON.stringify(raw)} is not ${field.type === 'boolean' ? 'a boolean' : `a number`}`);
  switch (field.type) {
    case 'number':
    case 'integer': {
      const value = typeof text === 'number' ? text : typeof text === 'string' ? Number(text) : Number.NaN;
      if (!Number.isFinite(value) || (field.type === 'integer' && !Number.isInteger(value))) throw bad();
      return value;
    }
    case 'boolean':
      if (typeof text === 'boolean') return text;
      if (text === 'true' || text === '1' || text === 1) return true;
      if (text === 'false' || text === '0' || text === 0) return false;
      throw bad();
    default:
      return typeof text === 'string' ? text : JSON.stringify(text);
  }
}

const DATATYPE: Record<Field['type'], Tensor['datatype']> = { number: 'FP64', integer: 'INT64', boolean: 'BOOL', string: 'BYTES', category: 'BYTES', datetime: 'BYTES' };

/**
 * All-numeric inputs go as one [rows, fields] matrix, which scikit-learn-style runtimes take as it is; mixed
 * inputs go as one column per field, marked as a data frame for MLServer's pandas codec.
 */
export function toRequest(fields: readonly Field[], rows: readonly Scalar[][], id: string): InferenceRequest {
  if (fields.every((f) => NUMERIC.has(f.type))) {
    return { id, inputs: [{ name: 'input', shape: [rows.length, fields.length], datatype: 'FP64', data: rows.flat() }] };
  }
  return {
    id,
    parameters: { content_type: 'pd' },
    inputs: fields.map((f, j) => ({ name: f.name, shape: [rows.length], datatype: DATATYPE[f.type], data: rows.map((r) => r[j]) })),
  };
}

/** Row i's value of every output: a scalar for one value per row, else the row's slice. */
export function outputsByRow(outputs: readonly Tensor[], rows: number, what: string): Record<string, unknown>[] {
  const perRow = Array.from({ length: rows }, () => ({}) as Record<string, unknown>);
  for (const tensor of outputs) {
    if (tensor.shape[0] !== rows) {
      throw new RuntimeError(`${what}: output ${tensor.name} has shape [${tensor.shape.join(', ')}] for ${rows} rows`, undefined, false);
    }
    const width = tensor.shape.slice(1).reduce((a, b) => a * b, 1);
    const flat = (tensor.data as unknown[]).flat(Infinity);
    for (let i = 0; i < rows; i += 1) {
      perRow[i]![tensor.name] = width === 1 ? flat[i] : flat.slice(i * width, (i + 1) * width);
    }
  }
  return perRow;
}

/** Writes lines to a file, hashing them, honouring backpressure. */
class HashedWriter {
  private readonly hash = createHash('sha256');
  private readonly out: ReturnType<typeof createWriteStream>;
  private failure: Error | undefined;

  constructor(readonly path: string) {
    this.out = createWriteStream(path, { flags: 'wx' });
    // Kept, and raised by the next write or close; after discard() nobody is waiting for it.
    this.out.on('error', (err) => {
      this.failure ??= err;
    });
  }

  async write(text: string): Promise<void> {
    if (this.failure) throw this.failure;
    this.hash.update(text);
    if (!this.out.write(text)) await once(this.out, 'drain');
  }

  async close(): Promise<string> {
    if (this.failure) throw this.failure;
    this.out.end();
    await once(this.out, 'finish');
    return this.hash.digest('hex');
  }

  /** Stops writing and waits until the file is closed, so it can be removed for good. */
  async discard(): Promise<void> {
    const closed = this.out.closed ? Promise.resolve() : new Promise<void>((resolve) => this.out.once('close', () => resolve()));
    this.out.destroy();
    await closed;
  }
}

function heartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // Called outside an activity (tests of the scoring itself): nothing to report to.
  }
}

/** Final failures for what retrying cannot fix; a runtime's 5xx or lost connection is retried. */
function asFailure(err: unknown): unknown {
  if (err instanceof DatasetProblem) return ApplicationFailure.nonRetryable(err.message, 'DatasetProblem');
  if (err instanceof RuntimeError && !err.retryable) return ApplicationFailure.create({ type: 'RuntimeRefused', message: err.message, nonRetryable: true, details: [{ status: err.status ?? null }] });
  return err;
}

export async function scoreFile(request: BatchScoringRequest, deps: BatchScoringDeps, control: { signal?: AbortSignal }): Promise<BatchScoringResult> {
  if (!BATCH_ID.test(request.batchId)) throw new DatasetProblem(`batchId ${JSON.stringify(request.batchId)} must be letters, digits, ".", "_" or "-" (at most 128)`);
  if (request.inputSchema.length === 0) throw new DatasetProblem('inputSchema names no fields to send');
  const chunkRows = request.chunkRows ?? DEFAULT_CHUNK_ROWS;
  if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new DatasetProblem(`chunkRows must be a positive integer, not ${chunkRows}`);
  const uri = request.inputUri;
  const format = formatOf(uri);
  const runtime: ModelRuntime = deps.runtimes.forTarget(request.deploymentTarget);
  const model = runtimeModelName(request.modelVersionId);
  const options: ReadOptions = { ...datasetReads(deps.reading), ...(control.signal ? { signal: control.signal } : {}) };
  const call = control.signal ? { signal: control.signal } : {};

  let source: Readable;
  try {
    source = await openUri(uri, options);
  } catch (err) {
    throw readProblem(uri, 'open', err, options);
  }
  const inputHash = createHash('sha256');
  const hashed = new PassThrough();
  source.on('data', (chunk: Buffer) => inputHash.update(chunk));
  let failure: Error | undefined;
  source.on('error', (err) => {
    failure = readProblem(uri, 'read', err, options);
    hashed.destroy(failure);
  });
  source.pipe(hashed);

  await mkdir(deps.outputDir, { recursive: true });
  const finalPath = join(deps.outputDir, `${request.batchId}.jsonl`);
  const writer = new HashedWriter(join(deps.outputDir, `.${request.batchId}.${randomUUID()}.partial`));
  let rows = 0;
  let chunk: Scalar[][] = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    const first = rows - chunk.length + 1;
    const what = `${request.modelVersionId} on ${request.deploymentTarget}, rows ${first}-${rows} of ${uri}`;
    let answer;
    try {
      answer = await runtime.infer(model, toRequest(request.inputSchema, chunk, `${request.batchId}:${first}`), call);
    } catch (err) {
      if (err instanceof RuntimeError) throw new RuntimeError(`${what}: ${err.message}`, err.status, err.retryable, { cause: err });
      throw err;
    }
    const lines = outputsByRow(answer.outputs, chunk.length, what).map((outputs, i) => JSON.stringify({ row: first + i, outputs })).join('\n');
    await writer.write(`${lines}\n`);
    chunk = [];
    heartbeat({ rowsScored: rows });
  };

  try {
    try {
      for await (const row of rowsOf(format, uri, hashed)) {
        if (rows === 0) {
          const absent = request.inputSchema.filter((f) => !(f.name in row)).map((f) => f.name);
          if (absent.length) throw new DatasetProblem(`${uri}: no column ${absent.join(', ')} (the model's input fields)`);
        }
        rows += 1;
        chunk.push(request.inputSchema.map((f) => cell(f, row[f.name], rows, uri)));
        if (chunk.length >= chunkRows) await flush();
      }
    } finally {
      source.destroy();
    }
    // A line reader may end quietly when its input fails; a read that failed never counts as the whole file.
    if (failure) throw failure;
    await flush();
    if (rows === 0) throw new DatasetProblem(`${uri}: has no data rows`);
    const inputSha256 = inputHash.digest('hex');
    if (request.inputSha256 !== undefined && inputSha256 !== request.inputSha256) {
      throw new DatasetProblem(`${uri}: sha256 is ${inputSha256}, but ${request.inputSha256} was declared; no predictions were kept`);
    }
    const sha256 = await writer.close();
    await rename(writer.path, finalPath);
    return { rows, outputUri: pathToFileURL(finalPath).href, sha256, inputSha256 };
  } catch (err) {
    await writer.discard();
    throw err;
  } finally {
    await rm(writer.path, { force: true });
  }
}

export function batchScoringActivities(deps: BatchScoringDeps) {
  return {
    /**
     * Scores a file of inputs with a loaded model version and writes its predictions; heartbeats after every
     * chunk, stops when cancelled. Registered on the compute task queue.
     */
    async scoreBatch(request: BatchScoringRequest): Promise<BatchScoringResult> {
      try {
        return await scoreFile(request, deps, { signal: activityReadControl().signal });
      } catch (err) {
        throw asFailure(err);
      }
    },
  };
}
