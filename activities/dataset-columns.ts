import type { DriftColumnSpec } from '../core/drift.js';
import type { ColumnValues } from './drift/index.js';

/**
 * Collects one column's non-missing values as a reader delivers them: a numerical column grows a Float64Array
 * (no per-value objects), a categorical one a list of labels. The rules are pandas' (read_csv's missing
 * markers, float parsing that skips surrounding spaces) so a file reads here as it reads in a notebook; every
 * format (CSV, JSON Lines, Parquet) feeds the same builder, so the same data gives the same columns.
 */

/** A problem with the data itself: retrying cannot help, and the message names the file, column and row. */
export class DatasetProblem extends Error {
  override readonly name = 'DatasetProblem';
}

/** pandas' default missing-value markers, so a file reads here as it reads in a notebook. */
export const MISSING = new Set(['', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null']);

const INFINITY = /^[+-]?(inf|infinity)$/i;

/** Values per block of a numerical column: 512 KiB. */
const BLOCK = 65_536;

export class ColumnBuilder {
  /**
   * Full blocks, then the one being filled. Blocks rather than one doubling array: growing by copying
   * allocates twice the column's size in passing, and every large allocation makes V8 collect garbage.
   */
  private readonly blocks: Float64Array[] = [];
  private numbers = new Float64Array(1024);
  private count = 0;
  private readonly labels: string[] = [];
  /** The column as another thread built it (adopt). */
  private adopted: ColumnValues | undefined;

  constructor(
    readonly spec: DriftColumnSpec,
    private readonly uri: string,
  ) {}

  /** A typed value (JSON, Parquet) or text; null and undefined are missing. Strings in MISSING are missing. */
  add(raw: unknown, row: number): void {
    if (raw === null || raw === undefined) return;
    if (this.spec.kind === 'categorical') {
      // Labels are kept as written, as pandas keeps them: " a" and "a" are different categories.
      const label = typeof raw === 'string' ? raw : String(raw);
      if (!MISSING.has(label)) this.labels.push(label);
      return;
    }
    if (typeof raw === 'number') return this.addNumber(raw);
    if (typeof raw === 'bigint') return this.addNumber(Number(raw));
    if (typeof raw === 'string') return this.addNumberText(raw, row);
    throw new DatasetProblem(`${this.uri}: column ${this.spec.name}, row ${row}: ${describe(raw)} is not a number`);
  }

  /** A label read from a typed source (Parquet), kept as stored: only null is missing there, as in pandas. */
  addStored(raw: unknown, row: number): void {
    if (raw === null || raw === undefined) return;
    if (this.spec.kind === 'categorical') {
      this.labels.push(typeof raw === 'string' ? raw : String(raw));
      return;
    }
    this.add(raw, row);
  }

  /** A number already parsed; Evidently drops NaN and ±Infinity before comparing, and so do we. */
  addNumber(value: number): void {
    if (!Number.isFinite(value)) return;
    if (this.count === this.numbers.length) this.more();
    this.numbers[this.count++] = value;
  }

  /** addNumber(values[at]), for hot loops: a double passed to a call that is not inlined costs an allocation. */
  addFrom(values: Float64Array, at: number): void {
    if (!Number.isFinite(values[at]!)) return;
    if (this.count === this.numbers.length) this.more();
    this.numbers[this.count++] = values[at]!;
  }

  private more(): void {
    if (this.numbers.length < BLOCK) {
      const grown = new Float64Array(this.numbers.length * 2);
      grown.set(this.numbers);
      this.numbers = grown;
      return;
    }
    this.blocks.push(this.numbers);
    this.numbers = new Float64Array(BLOCK);
    this.count = 0;
  }

  /** Text in a numerical column: pandas' float parser skips surrounding spaces (" 1.5" is 1.5). */
  addNumberText(raw: string, row: number): void {
    const text = raw.trim();
    if (MISSING.has(text) || INFINITY.test(text)) return;
    const value = Number(text);
    if (Number.isNaN(value)) {
      throw new DatasetProblem(`${this.uri}: column ${this.spec.name}, row ${row}: ${JSON.stringify(raw)} is not a number`);
    }
    this.addNumber(value);
  }

  /** Takes the column as built elsewhere (a reader thread) in place of anything added here. */
  adopt(values: ColumnValues): void {
    if (values.kind !== this.spec.kind) throw new Error(`column ${this.spec.name}: a ${values.kind} column built for a ${this.spec.kind} one`);
    this.adopted = values;
  }

  build(): ColumnValues {
    if (this.adopted) return this.adopted;
    if (this.spec.kind === 'categorical') return { kind: 'categorical', values: this.labels };
    const values = new Float64Array(this.blocks.length * BLOCK + this.count);
    this.blocks.forEach((block, i) => values.set(block, i * BLOCK));
    values.set(this.numbers.subarray(0, this.count), this.blocks.length * BLOCK);
    // The builder is done: its blocks go now, so building column after column never holds two copies of all.
    this.adopted = { kind: 'numerical', values };
    this.blocks.length = 0;
    this.numbers = new Float64Array(0);
    this.count = 0;
    return this.adopted;
  }
}

function describe(raw: unknown): string {
  if (typeof raw === 'boolean') return `the boolean ${String(raw)}`;
  if (Array.isArray(raw)) return 'a list';
  if (raw instanceof Date) return `the date ${raw.toISOString()}`;
  return typeof raw === 'object' ? 'an object' : JSON.stringify(raw);
}
