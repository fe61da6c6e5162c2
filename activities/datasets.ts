import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { PassThrough, type Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type { DriftColumnSpec } from '../core/drift.js';
import type { ColumnValues } from './drift/index.js';
import { ApplicationFailure } from '@temporalio/activity';
import { openUri, type ReadOptions } from './read-uri.js';

/**
 * Reads the columns drift compares out of a dataset file (CSV with a header row, or JSON Lines), hashing the
 * bytes as they stream past so the digest recorded is the digest of exactly what was compared.
 */

/** A problem with the data itself: retrying cannot help, and the message names the file, column and row. */
export class DatasetProblem extends Error {
  override readonly name = 'DatasetProblem';
}

export interface LoadedDataset {
  readonly sha256: string;
  readonly rows: number;
  readonly columns: ReadonlyMap<string, ColumnValues>;
}

/** pandas' default missing-value markers, so a file reads here as it reads in a notebook. */
export const MISSING = new Set(['', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null']);

export type Format = 'csv' | 'jsonl';

export function formatOf(uri: string): Format {
  const path = new URL(uri).pathname.toLowerCase();
  if (path.endsWith('.csv')) return 'csv';
  if (path.endsWith('.jsonl') || path.endsWith('.ndjson')) return 'jsonl';
  throw new DatasetProblem(`${uri}: unsupported dataset format; use .csv (with a header row) or .jsonl`);
}

/** Collects one column's non-missing values; a numerical column grows a Float64Array. */
class ColumnBuilder {
  private numbers = new Float64Array(1024);
  private count = 0;
  private readonly labels: string[] = [];

  constructor(
    private readonly spec: DriftColumnSpec,
    private readonly uri: string,
  ) {}

  add(raw: unknown, row: number): void {
    if (raw === null || raw === undefined) return;
    if (this.spec.kind === 'categorical') {
      // Labels are kept as written, as pandas keeps them: " a" and "a" are different categories.
      const label = typeof raw === 'string' ? raw : String(raw);
      if (!MISSING.has(label)) this.labels.push(label);
      return;
    }
    const value = typeof raw === 'number' ? raw : this.parseNumber(raw, row);
    // Evidently drops NaN and ±Infinity before comparing; so do we.
    if (value === null || !Number.isFinite(value)) return;
    if (this.count === this.numbers.length) {
      const grown = new Float64Array(this.numbers.length * 2);
      grown.set(this.numbers);
      this.numbers = grown;
    }
    this.numbers[this.count++] = value;
  }

  private parseNumber(raw: unknown, row: number): number | null {
    // pandas' float parser skips surrounding spaces: " 1.5" is 1.5.
    const text = typeof raw === 'string' ? raw.trim() : raw;
    if (typeof text === 'string' && MISSING.has(text)) return null;
    if (typeof text === 'string' && /^[+-]?(inf|infinity)$/i.test(text)) return Number.NaN;
    const value = typeof text === 'string' ? Number(text) : Number.NaN;
    if (Number.isNaN(value)) {
      throw new DatasetProblem(`${this.uri}: column ${this.spec.name}, row ${row}: ${JSON.stringify(raw)} is not a number`);
    }
    return value;
  }

  build(): ColumnValues {
    return this.spec.kind === 'numerical' ? { kind: 'numerical', values: this.numbers.slice(0, this.count) } : { kind: 'categorical', values: this.labels };
  }
}

/** Rows as objects, in file order, from either format; row numbers count data rows from 1. */
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
  let line = 0;
  for await (const text of createInterface({ input: bytes, crlfDelay: Infinity })) {
    line += 1;
    if (!text.trim()) continue;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch {
      throw new DatasetProblem(`${uri}: line ${line} is not JSON`);
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new DatasetProblem(`${uri}: line ${line} is not a JSON object`);
    yield row as Record<string, unknown>;
  }
}

/** A refused location, an oversized file or a cancelled read keeps its own identity; other I/O errors are data problems. */
export function readProblem(uri: string, verb: string, err: unknown, options: ReadOptions): Error {
  if (options.signal?.aborted) return options.signal.reason as Error;
  if (err instanceof ApplicationFailure) return err;
  return new DatasetProblem(`${uri}: could not ${verb}: ${(err as Error).message}`);
}

/**
 * Loads `columns` from the dataset at `uri`, reading within `options` (allowed locations, size limit,
 * cancellation). A declared digest must match the bytes read; a column absent from the file, a non-number in
 * a numerical column, or an empty file is a DatasetProblem.
 */
export async function loadDataset(uri: string, columns: readonly DriftColumnSpec[], expectedSha256: string | undefined, options: ReadOptions): Promise<LoadedDataset> {
  const format = formatOf(uri);
  let source: Readable;
  try {
    source = await openUri(uri, options);
  } catch (err) {
    throw readProblem(uri, 'open', err, options);
  }
  const hash = createHash('sha256');
  const hashed = new PassThrough();
  source.on('data', (chunk: Buffer) => hash.update(chunk));
  let failure: Error | undefined;
  source.on('error', (err) => {
    failure = readProblem(uri, 'read', err, options);
    hashed.destroy(failure);
  });
  source.pipe(hashed);

  const builders = columns.map((c) => new ColumnBuilder(c, uri));
  let rows = 0;
  try {
    for await (const row of rowsOf(format, uri, hashed)) {
      if (rows === 0) {
        const absent = columns.filter((c) => !(c.name in row)).map((c) => c.name);
        if (absent.length) throw new DatasetProblem(`${uri}: no column ${absent.join(', ')} (the model's input fields)`);
      }
      rows += 1;
      columns.forEach((c, i) => builders[i]!.add(row[c.name], rows));
    }
  } finally {
    source.destroy();
  }
  // A line reader may end quietly when its input fails; a read that failed never counts as the whole file.
  if (failure) throw failure;
  if (rows === 0) throw new DatasetProblem(`${uri}: has no data rows`);
  const sha256 = hash.digest('hex');
  if (expectedSha256 !== undefined && sha256 !== expectedSha256) {
    throw new DatasetProblem(`${uri}: sha256 is ${sha256}, but ${expectedSha256} was declared`);
  }
  return { sha256, rows, columns: new Map(columns.map((c, i) => [c.name, builders[i]!.build()])) };
}
