/**
 * Columns made ready for the drift tests once: missing values dropped, numbers sorted, categories counted.
 * A reference column is compared with many windows, so everything the tests need from one side alone
 * (sorted values, distinct-value count, mean and standard deviation, category counts) is computed here.
 */
import { CompensatedSum } from './arrays.js';
import { sortFloat64 } from './sort.js';

export type ColumnKind = 'numerical' | 'categorical';

/** A column's non-missing values: missing ones (null, NaN, ±Infinity, '') are removed by the caller or by prepareColumn. */
export type ColumnValues =
  | { readonly kind: 'numerical'; readonly values: Float64Array | readonly number[] }
  | { readonly kind: 'categorical'; readonly values: readonly string[] };

export interface PreparedNumericalColumn {
  readonly kind: 'numerical';
  /** Non-missing values. */
  readonly rows: number;
  /** The non-missing values, ascending. */
  readonly sorted: Float64Array;
  /** Number of distinct values. */
  readonly distinct: number;
  readonly mean: number;
  /** Population standard deviation (ddof = 0), as numpy's np.std. */
  readonly std: number;
}

export interface PreparedCategoricalColumn {
  readonly kind: 'categorical';
  readonly rows: number;
  /** Occurrences of each category, in first-seen order. */
  readonly counts: ReadonlyMap<string, number>;
  readonly distinct: number;
}

/** A column made ready once (sorted values, category counts, …) so a reference used for many windows is prepared once. */
export type PreparedColumn = PreparedNumericalColumn | PreparedCategoricalColumn;

function isPresentNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function prepareNumerical(values: Float64Array | readonly number[]): PreparedNumericalColumn {
  let finite = 0;
  for (let i = 0; i < values.length; i++) if (isPresentNumber(values[i])) finite++;
  const sorted = new Float64Array(finite);
  let k = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (isPresentNumber(v)) sorted[k++] = v;
  }
  sortFloat64(sorted);

  let distinct = 0;
  const sum = new CompensatedSum();
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i] as number;
    if (i === 0 || v !== sorted[i - 1]) distinct++;
    sum.add(v);
  }
  const n = sorted.length;
  const mean = n > 0 ? sum.value / n : Number.NaN;
  const squares = new CompensatedSum();
  for (let i = 0; i < n; i++) {
    const dev = (sorted[i] as number) - mean;
    squares.add(dev * dev);
  }
  const std = n > 0 ? Math.sqrt(squares.value / n) : Number.NaN;
  return { kind: 'numerical', rows: n, sorted, distinct, mean, std };
}

function prepareCategorical(values: readonly string[]): PreparedCategoricalColumn {
  const counts = new Map<string, number>();
  let rows = 0;
  for (const v of values) {
    if (typeof v !== 'string' || v === '') continue;
    counts.set(v, (counts.get(v) ?? 0) + 1);
    rows++;
  }
  return { kind: 'categorical', rows, counts, distinct: counts.size };
}

/**
 * Drop missing values (null, undefined, NaN, ±Infinity for numbers; null, undefined and '' for categories)
 * and precompute what the tests need. Evidently drops NaN and ±inf the same way before testing.
 */
export function prepareColumn(values: ColumnValues): PreparedColumn {
  return values.kind === 'numerical' ? prepareNumerical(values.values) : prepareCategorical(values.values);
}

/** Distinct values of an ascending array with their counts. */
export function distinctCounts(sorted: Float64Array): { readonly values: number[]; readonly counts: number[] } {
  const values: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i] as number;
    if (i > 0 && v === sorted[i - 1]) counts[counts.length - 1] = (counts[counts.length - 1] as number) + 1;
    else {
      values.push(v);
      counts.push(1);
    }
  }
  return { values, counts };
}

/** Occurrences of each value in a column, numbers and strings alike (pandas value_counts). */
export function valueCounts(column: PreparedColumn): Map<string | number, number> {
  if (column.kind === 'categorical') return new Map(column.counts);
  const { values, counts } = distinctCounts(column.sorted);
  const out = new Map<string | number, number>();
  values.forEach((v, i) => out.set(v, counts[i] as number));
  return out;
}

/**
 * Distinct values over reference and current together (pandas concat(...).nunique()), counted exactly up to
 * `cap` and reported as cap + 1 beyond it: callers only ask whether it is <= 2 or <= 5.
 */
export function unionDistinct(a: PreparedColumn, b: PreparedColumn, cap: number): number {
  if (a.distinct > cap || b.distinct > cap) return cap + 1;
  const keys = new Set<string | number>([...valueCounts(a).keys(), ...valueCounts(b).keys()]);
  return Math.min(keys.size, cap + 1);
}
