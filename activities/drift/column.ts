/**
 * Columns made ready for the drift tests: missing values dropped, categories counted. What the tests need
 * from one numerical side alone (sorted values, distinct-value count, mean and standard deviation, the cell
 * grid) is computed on first use and kept, so a reference compared with many windows computes it once and a
 * window compared through the reference's grid is never sorted.
 */
import { CompensatedSum } from './arrays.js';
import { buildGrid, profileWindow, type ReferenceGrid, type WindowProfile } from './grid.js';
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
  /** Smallest and largest non-missing value (NaN when there are none). */
  readonly min: number;
  readonly max: number;
  /**
   * The non-missing values in no particular order (ascending once `sorted` has been read): the one-pass
   * tests and histograms read them without paying for a sort. Read only: until sorted it may be the
   * caller's own array.
   */
  readonly values: Float64Array;
  /** Has `sorted` been computed (so that binary searches are cheaper than a pass over the values)? */
  readonly isSorted: boolean;
  /** The non-missing values, ascending (sorted on first use, in place, then kept). */
  readonly sorted: Float64Array;
  /** Number of distinct values. */
  readonly distinct: number;
  readonly mean: number;
  /** Population standard deviation (ddof = 0), as numpy's np.std. */
  readonly std: number;
  /** The reference's cell grid for the sort-free window tests (grid.ts); undefined for small or constant columns. */
  readonly grid: ReferenceGrid | undefined;
  /**
   * This column's counts on a reference's grid, with the gaps Wasserstein needs if asked for (one pass over
   * the values, kept for the last grid asked).
   */
  profileOn(grid: ReferenceGrid, withGaps: boolean): WindowProfile;
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

/**
 * A numerical column whose derived data is computed on first use and kept: a window compared by KS,
 * Wasserstein or PSI against a prepared reference never needs its values sorted, while a reference serving
 * many windows pays for its sort, moments and grid once.
 */
class NumericalColumn implements PreparedNumericalColumn {
  readonly kind = 'numerical';
  readonly rows: number;
  readonly min: number;
  readonly max: number;
  private data: Float64Array;
  /** Is `data` the caller's array (prepareColumn did not copy it), to be copied before sorting in place? */
  private borrowed: boolean;
  private ascending = false;
  private distinctCount: number | undefined;
  private moments: { readonly mean: number; readonly std: number } | undefined;
  private cellGrid: ReferenceGrid | undefined | null = null;
  private profile: { readonly grid: ReferenceGrid; readonly profile: WindowProfile } | undefined;

  constructor(values: Float64Array, borrowed: boolean, min: number, max: number) {
    this.data = values;
    this.borrowed = borrowed;
    this.rows = values.length;
    this.min = min;
    this.max = max;
  }

  get values(): Float64Array {
    return this.data;
  }

  get isSorted(): boolean {
    return this.ascending;
  }

  get sorted(): Float64Array {
    if (!this.ascending) {
      if (this.borrowed) {
        this.data = this.data.slice();
        this.borrowed = false;
      }
      sortFloat64(this.data);
      this.ascending = true;
    }
    return this.data;
  }

  get distinct(): number {
    if (this.distinctCount === undefined) {
      const sorted = this.sorted;
      let distinct = 0;
      for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
      this.distinctCount = distinct;
    }
    return this.distinctCount;
  }

  get mean(): number {
    return this.computeMoments().mean;
  }

  get std(): number {
    return this.computeMoments().std;
  }

  get grid(): ReferenceGrid | undefined {
    if (this.cellGrid === null) this.cellGrid = buildGrid(this.sorted);
    return this.cellGrid;
  }

  profileOn(grid: ReferenceGrid, withGaps: boolean): WindowProfile {
    const kept = this.profile;
    if (kept?.grid === grid && (kept.profile.gaps || !withGaps)) return kept.profile;
    const profile = profileWindow(grid, this.data, withGaps);
    this.profile = { grid, profile };
    return profile;
  }

  /** Over the sorted values, so the rounding does not depend on whether a sort happened before. */
  private computeMoments(): { readonly mean: number; readonly std: number } {
    if (!this.moments) {
      const sorted = this.sorted;
      const n = sorted.length;
      const sum = new CompensatedSum();
      for (let i = 0; i < n; i++) sum.add(sorted[i]!);
      const mean = n > 0 ? sum.value / n : Number.NaN;
      const squares = new CompensatedSum();
      for (let i = 0; i < n; i++) {
        const dev = sorted[i]! - mean;
        squares.add(dev * dev);
      }
      this.moments = { mean, std: n > 0 ? Math.sqrt(squares.value / n) : Number.NaN };
    }
    return this.moments;
  }
}

interface FiniteValues {
  readonly values: Float64Array;
  /** Is `values` the caller's array itself? */
  readonly borrowed: boolean;
  readonly min: number;
  readonly max: number;
}

/**
 * The finite values with their minimum and maximum: a Float64Array with nothing missing as it is (a window
 * compared through a grid is only read, so copying 8 MB per 10^6 values would be wasted), anything else
 * copied without its missing values.
 */
function finiteValues(values: Float64Array | readonly number[]): FiniteValues {
  const n = values.length;
  let out = new Float64Array(0);
  let k = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  if (values instanceof Float64Array) {
    // One read-only pass; v - v is 0 exactly when v is finite (NaN for NaN and ±Infinity).
    let missing = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
      if (v - v !== 0) missing++;
    }
    if (missing === 0) return n === 0 ? { values: new Float64Array(0), borrowed: false, min: Number.NaN, max: Number.NaN } : { values, borrowed: true, min, max };
    min = Number.POSITIVE_INFINITY;
    max = Number.NEGATIVE_INFINITY;
    out = new Float64Array(n - missing);
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (v - v === 0) {
        out[k++] = v;
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
  } else {
    out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v: unknown = values[i];
      if (typeof v === 'number' && Number.isFinite(v)) {
        out[k++] = v;
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
  }
  if (k === 0) return { values: new Float64Array(0), borrowed: false, min: Number.NaN, max: Number.NaN };
  return { values: k === out.length ? out : out.slice(0, k), borrowed: false, min, max };
}

function prepareNumerical(values: Float64Array | readonly number[]): PreparedNumericalColumn {
  const finite = finiteValues(values);
  return new NumericalColumn(finite.values, finite.borrowed, finite.min, finite.max);
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
 * and precompute what the tests need. Evidently drops NaN and ±inf the same way before testing. A
 * Float64Array without missing values is read where it is, not copied (a sort works on a copy): it must not
 * change while the column is in use.
 */
export function prepareColumn(values: ColumnValues): PreparedColumn {
  return values.kind === 'numerical' ? prepareNumerical(values.values) : prepareCategorical(values.values);
}

/**
 * prepareColumn for a reference that will serve many windows: everything a window's test may ask of it
 * (sorted values, distinct count, moments, the cell grid) is computed now rather than on first use.
 */
export function prepareReferenceColumn(values: ColumnValues): PreparedColumn {
  const column = prepareColumn(values);
  if (column.kind === 'numerical') {
    void column.distinct;
    void column.std;
    void column.grid;
  }
  return column;
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
