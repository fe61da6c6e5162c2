import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Transform, type Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import type { DriftColumnSpec } from '../core/drift.js';
import type { ColumnValues } from './drift/index.js';
import { ApplicationFailure } from '@temporalio/activity';
import { ColumnBuilder, DatasetProblem } from './dataset-columns.js';
import { CsvThreadColumns } from './dataset-csv-thread.js';
import { readParquetColumns, wholeBuffer } from './dataset-parquet.js';
import { openUri, type ReadOptions } from './read-uri.js';

/**
 * Reads the columns drift compares out of a dataset file (CSV with a header row, JSON Lines, or Parquet),
 * hashing the bytes as they stream past so the digest recorded is the digest of exactly what was compared.
 * All three formats feed the same column builders (dataset-columns.ts), so the same data gives the same
 * columns, and hence the same drift report, whichever format it is kept in.
 */

export { DatasetProblem, MISSING } from './dataset-columns.js';

export interface LoadedDataset {
  readonly sha256: string;
  readonly rows: number;
  readonly columns: ReadonlyMap<string, ColumnValues>;
}

export type Format = 'csv' | 'jsonl' | 'parquet';

export function formatOf(uri: string): Format {
  const path = new URL(uri).pathname.toLowerCase();
  if (path.endsWith('.csv')) return 'csv';
  if (path.endsWith('.jsonl') || path.endsWith('.ndjson')) return 'jsonl';
  if (path.endsWith('.parquet') || path.endsWith('.pq')) return 'parquet';
  throw new DatasetProblem(`${uri}: unsupported dataset format; use .csv (with a header row), .jsonl or .parquet`);
}

async function collect(bytes: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of bytes) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Rows as objects, in file order, from any format (batch scoring); row numbers count data rows from 1. */
export async function* rowsOf(format: Format, uri: string, bytes: Readable): AsyncGenerator<Record<string, unknown>> {
  if (format === 'csv') {
    const parser = parse({ columns: true, bom: true, skip_empty_lines: true });
    bytes.on('error', (err) => parser.destroy(err));
    bytes.pipe(parser);
    try {
      for await (const row of parser) yield row as Record<string, unknown>;
    } catch (err) {
      if (err instanceof Error && 'code' in err && String(err.code).startsWith('CSV_')) throw new DatasetProblem(`${uri}: ${err.message}`);
      throw err;
    }
    return;
  }
  if (format === 'parquet') {
    const file = wholeBuffer(await collect(bytes));
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file, compressors });
    } catch (err) {
      throw new DatasetProblem(`${uri}: is not a readable Parquet file (${(err as Error).message})`);
    }
    yield* rows;
    return;
  }
  let line = 0;
  for await (const text of createInterface({ input: bytes, crlfDelay: Infinity })) {
    line += 1;
    if (!text.trim()) continue;
    yield parseJsonLine(uri, text, line);
  }
}

function parseJsonLine(uri: string, text: string, line: number): Record<string, unknown> {
  let row: unknown;
  try {
    row = JSON.parse(text);
  } catch {
    throw new DatasetProblem(`${uri}: line ${line} is not JSON`);
  }
  if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new DatasetProblem(`${uri}: line ${line} is not a JSON object`);
  return row as Record<string, unknown>;
}

/** A refused location, an oversized file or a cancelled read keeps its own identity; other I/O errors are data problems. */
export function readProblem(uri: string, verb: string, err: unknown, options: ReadOptions): Error {
  if (options.signal?.aborted) return options.signal.reason as Error;
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof DatasetProblem) return err;
  return new DatasetProblem(`${uri}: could not ${verb}: ${(err as Error).message}`);
}

/**
 * A dataset file opened for one read: through the allow-listed reader, its bytes hashed as they stream past,
 * so the digest checked is the digest of exactly the rows read. Drift (loadDataset) and the test gate's
 * evaluation rows (evaluation/dataset.ts) read through it, with the same errors for the same problems.
 */
export interface DatasetSource {
  readonly uri: string;
  readonly format: Format;
  /** The bytes. A failed read ends it with the read's problem (a refusal, the size limit or a cancellation keep their own). */
  readonly bytes: Readable;
  /**
   * After the last row: the read's problem if it failed (a line reader may end quietly when its input fails,
   * and a failed read never counts as the whole file), a DatasetProblem if there were no rows, else the
   * sha256 of every byte read, which must be the declared one.
   */
  verified(rows: number): string;
  /** Stops reading; call it in a `finally`. */
  close(): void;
}

export async function openDataset(uri: string, declaredSha256: string | undefined, options: ReadOptions): Promise<DatasetSource> {
  const format = formatOf(uri);
  let source: Readable;
  try {
    source = await openUri(uri, options);
  } catch (err) {
    throw readProblem(uri, 'open', err, options);
  }
  const hash = createHash('sha256');
  let failure: Error | undefined;
  const bytes = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  source.on('error', (err) => {
    failure = readProblem(uri, 'read', err, options);
    bytes.destroy(failure);
  });
  source.pipe(bytes);
  return {
    uri,
    format,
    bytes,
    verified(rows) {
      if (failure) throw failure;
      if (rows === 0) throw new DatasetProblem(`${uri}: has no data rows`);
      const sha256 = hash.digest('hex');
      if (declaredSha256 !== undefined && sha256 !== declaredSha256) throw new DatasetProblem(`${uri}: sha256 is ${sha256}, but ${declaredSha256} was declared`);
      return sha256;
    },
    close() {
      source.destroy();
      bytes.destroy();
    },
  };
}

/** JSON Lines into builders: lines split on bytes, one JSON.parse per line. */
class JsonLinesColumns {
  private carry: Buffer | undefined;
  private line = 0;
  rows = 0;

  constructor(
    private readonly uri: string,
    private readonly builders: readonly ColumnBuilder[],
  ) {}

  push(chunk: Buffer): void {
    const buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    let start = 0;
    for (let end = buf.indexOf(10, start); end >= 0; end = buf.indexOf(10, start)) {
      this.take(buf.toString('utf8', start, end));
      start = end + 1;
    }
    this.carry = start < buf.length ? Buffer.from(buf.subarray(start)) : undefined;
  }

  end(): void {
    if (this.carry) this.take(this.carry.toString('utf8'));
    this.carry = undefined;
  }

  private take(text: string): void {
    this.line += 1;
    if (!text.trim()) return;
    const row = parseJsonLine(this.uri, text, this.line);
    if (this.rows === 0) {
      const absent = this.builders.filter((b) => !(b.spec.name in row)).map((b) => b.spec.name);
      if (absent.length) throw new DatasetProblem(`${this.uri}: no column ${absent.join(', ')} (the model's input fields)`);
    }
    const at = ++this.rows;
    for (const b of this.builders) b.add(row[b.spec.name], at);
  }
}

/**
 * Loads `columns` from the dataset at `uri`, reading within `options` (allowed locations, size limit,
 * cancellation). A declared digest must match the bytes read; a column absent from the file, a non-number in
 * a numerical column, or an empty file is a DatasetProblem.
 */
export async function loadDataset(uri: string, columns: readonly DriftColumnSpec[], expectedSha256: string | undefined, options: ReadOptions): Promise<LoadedDataset> {
  const dataset = await openDataset(uri, expectedSha256, options);
  const builders = columns.map((c) => new ColumnBuilder(c, uri));
  let rows: number;
  let csv: CsvThreadColumns | undefined;
  try {
    if (dataset.format === 'parquet') {
      rows = await readParquetColumns(uri, wholeBuffer(await collect(dataset.bytes)), builders);
    } else {
      const reader = dataset.format === 'csv' ? (csv = new CsvThreadColumns(uri, builders)) : new JsonLinesColumns(uri, builders);
      for await (const chunk of dataset.bytes) await reader.push(chunk as Buffer);
      await reader.end();
      rows = reader.rows;
    }
  } catch (err) {
    throw readProblem(uri, 'read', err, options);
  } finally {
    csv?.close();
    dataset.close();
  }
  const sha256 = dataset.verified(rows);
  return { sha256, rows, columns: new Map(columns.map((c, i) => [c.name, builders[i]!.build()])) };
}
