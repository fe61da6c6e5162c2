/**
 * A reference column's cell grid, so that a window is compared with it without sorting the window.
 *
 * The cells split the line by a monotone map, cell(v) = floor((v - lo) * scale) clamped to [0, cells - 1],
 * over the reference's central 99.8% (the two outer cells also take everything beyond). Because the map is
 * monotone, every value in a lower cell is smaller than every value in a higher one, so the two empirical
 * CDFs at each cell's boundaries follow from counts alone: the reference's counts are computed once here,
 * a window's in one pass over its unsorted values (profileWindow). KS and Wasserstein use those counts to
 * settle most cells at once and look at the values of only the few cells where the counts cannot decide
 * (gatherCells), which are then sorted and walked exactly as a full merge would walk them.
 */
import { sortRange } from './sort.js';

/** Below this many reference values a window is simply sorted: a grid would not pay for itself. */
export const GRID_MIN_ROWS = 4096;
/** Reference values per cell on average; a cell's count bounds how far the CDFs can move inside it. */
const ROWS_PER_CELL = 32;
/** Share of the reference outside [lo, hi], so that a few extreme values do not stretch every cell. */
const TAIL_SHARE = 0.001;
/**
 * Largest mean cell size seen from a value (sum of squared cell counts / rows) for which the grid is kept.
 * Equal-width cells suit normal, uniform, exponential or lognormal (sd 1) data (6 to 260) and integers or
 * cents (~100 to 1000); a few values holding most rows (10 distinct integers: 10^5) or a very skewed
 * distribution (lognormal, sd 3: 1.5 * 10^5) would leave most of a window to be sorted cell by cell, which is
 * slower than sorting it outright, so such a reference gets no grid.
 */
const MAX_LOAD = 4096;

export interface ReferenceGrid {
  readonly cells: number;
  readonly lo: number;
  readonly scale: number;
  /** Cell c spans [edge(c), edge(c + 1)) with edge(c) = lo + c * width, up to rounding at the boundary. */
  readonly width: number;
  /** start[c]: reference values in cells before c (cells + 1 entries; start[cells] = rows). */
  readonly start: Int32Array;
  /** gaps[c]: the sum over the reference values r in cell c of edge(c + 1) - r. */
  readonly gaps: Float64Array;
}

/** A window's counts on a reference's grid. */
export interface WindowProfile {
  readonly counts: Int32Array;
  /** gaps[c]: the sum over the window's values v in cell c of edge(c + 1) - v (Wasserstein needs them, KS not). */
  readonly gaps: Float64Array | undefined;
}

/** edge(c); written the same way wherever it is used, so that every use rounds alike. */
export function cellEdge(grid: ReferenceGrid, c: number): number {
  return grid.lo + c * grid.width;
}

/**
 * The grid of an ascending reference, or undefined when it is small, (nearly) constant or too uneven (see
 * MAX_LOAD). `rowsPerCell`, `minRows` and `maxLoad` are for tests, which build grids on small samples.
 */
export function buildGrid(sorted: Float64Array, rowsPerCell = ROWS_PER_CELL, minRows = GRID_MIN_ROWS, maxLoad = MAX_LOAD): ReferenceGrid | undefined {
  const n = sorted.length;
  if (n < minRows) return undefined;
  const tail = Math.floor(n * TAIL_SHARE);
  let lo = sorted[tail]!;
  let hi = sorted[n - 1 - tail]!;
  if (!(hi > lo)) {
    lo = sorted[0]!;
    hi = sorted[n - 1]!;
  }
  const cells = Math.max(2, Math.floor(n / rowsPerCell));
  const span = hi - lo;
  const width = span / cells;
  const scale = cells / span;
  // A span that overflows, or cells so narrow that their width or scale leaves the doubles, gets no grid.
  if (!(span > 0 && Number.isFinite(span) && width > 0 && Number.isFinite(scale))) return undefined;
  const start = new Int32Array(cells + 1);
  const gaps = new Float64Array(cells);
  const last = cells - 1;
  for (let i = 0; i < n; i++) {
    const v = sorted[i]!;
    const x = (v - lo) * scale;
    const c = x < 1 ? 0 : x >= last ? last : x | 0;
    start[c + 1]!++;
    gaps[c] = gaps[c]! + (lo + (c + 1) * width - v);
  }
  let squares = 0;
  for (let c = 0; c < cells; c++) {
    const count = start[c + 1]!;
    squares += count * count;
    start[c + 1] = count + start[c]!;
  }
  if (squares / n > maxLoad) return undefined;
  return { cells, lo, scale, width, start, gaps };
}

/** One pass over a window's values (any order): how many fall in each cell, and their gaps if asked for. */
export function profileWindow(grid: ReferenceGrid, values: Float64Array, withGaps: boolean): WindowProfile {
  const { cells, lo, scale, width } = grid;
  const counts = new Int32Array(cells);
  const last = cells - 1;
  const n = values.length;
  if (!withGaps) {
    for (let i = 0; i < n; i++) {
      const x = (values[i]! - lo) * scale;
      counts[x < 1 ? 0 : x >= last ? last : x | 0]!++;
    }
    return { counts, gaps: undefined };
  }
  const gaps = new Float64Array(cells);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    const x = (v - lo) * scale;
    const c = x < 1 ? 0 : x >= last ? last : x | 0;
    counts[c]!++;
    gaps[c] = gaps[c]! + (lo + (c + 1) * width - v);
  }
  return { counts, gaps };
}

/** The window's values of some cells, each cell's values ascending in values[offsets[k], offsets[k + 1]). */
export interface GatheredCells {
  readonly values: Float64Array;
  readonly offsets: Int32Array;
}

/** Scratch reused across calls: a byte per cell, 1 for the cells asked for (small enough to stay in L1). */
let wanted = new Uint8Array(0);
/** Scratch reused across calls: the slot of each cell asked for. */
let slots = new Int32Array(0);

/** The window's values in `cells` (distinct cell indices), each cell's values sorted. */
export function gatherCells(grid: ReferenceGrid, values: Float64Array, profile: WindowProfile, cells: ArrayLike<number>): GatheredCells {
  const k = cells.length;
  const offsets = new Int32Array(k + 1);
  if (slots.length < grid.cells) {
    slots = new Int32Array(grid.cells);
    wanted = new Uint8Array(grid.cells);
  }
  wanted.fill(0, 0, grid.cells);
  for (let s = 0; s < k; s++) {
    const c = cells[s]!;
    slots[c] = s;
    wanted[c] = 1;
    offsets[s + 1] = offsets[s]! + profile.counts[c]!;
  }
  const out = new Float64Array(offsets[k]!);
  if (out.length > 0) {
    const next = offsets.slice(0, k);
    const { lo, scale } = grid;
    const last = grid.cells - 1;
    const n = values.length;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      const x = (v - lo) * scale;
      const c = x < 1 ? 0 : x >= last ? last : x | 0;
      if (wanted[c] === 1) out[next[slots[c]!]!++] = v;
    }
    for (let s = 0; s < k; s++) sortRange(out, offsets[s]!, offsets[s + 1]!);
  }
  return { values: out, offsets };
}
