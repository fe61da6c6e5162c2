/**
 * Evidently's get_binned_data: the reference and current shares per bucket that PSI and Jensen-Shannon
 * compare.
 *
 * - A numerical column with more than 20 distinct reference values is cut into Sturges bins over the
 *   reference and current values together (numpy histogram_bin_edges(..., bins='sturges') on float64 data,
 *   then np.histogram with those edges: left-closed bins, the last one closed on both sides).
 * - Anything else (categorical columns, numerical columns with <= 20 distinct reference values) gets one
 *   bucket per value seen on either side.
 * - With zero filling (PSI only), each side's empty buckets get min(non-zero share) / 10^6 if that minimum
 *   is <= 0.0001, else 0.0001, so that the logarithms stay finite.
 */
import { lowerBound, upperBound } from './arrays.js';
import { valueCounts, type PreparedColumn, type PreparedNumericalColumn } from './column.js';

export const BINNING_DISTINCT_LIMIT = 20;

export interface BinnedShares {
  readonly reference: Float64Array;
  readonly current: Float64Array;
}

/** numpy's Sturges bin edges for values spanning [min, max], `count` values in all. */
export function sturgesEdges(min: number, max: number, count: number): Float64Array {
  let first = min;
  let last = max;
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  // Bin width from the data's own range; the bin count from the (possibly widened) edges, as numpy does.
  const width = (max - min) / (Math.log2(count) + 1);
  const delta = last - first;
  const bins = width ? Math.ceil(delta / width) : 1;
  // np.linspace(first, last, bins + 1): i * step + first, the last edge set to `last` exactly.
  const step = delta / bins;
  const edges = new Float64Array(bins + 1);
  for (let i = 0; i < bins; i++) edges[i] = i * step + first;
  edges[bins] = last;
  return edges;
}

/** np.histogram(values, edges)[0] for ascending values: counts by binary search on each edge. */
export function histogramCounts(sorted: Float64Array, edges: Float64Array): Float64Array {
  const bins = edges.length - 1;
  const counts = new Float64Array(bins);
  let previous = lowerBound(sorted, edges[0] as number);
  for (let i = 1; i <= bins; i++) {
    const edge = edges[i] as number;
    const cumulative = i === bins ? upperBound(sorted, edge) : lowerBound(sorted, edge);
    counts[i - 1] = cumulative - previous;
    previous = cumulative;
  }
  return counts;
}

/**
 * The same counts from values in any order, in one pass: each value's bin guessed from its position
 * between the outer edges (as numpy does for equal-width bins), then moved until edges[bin] <= v <
 * edges[bin + 1] (the last bin closed), so every value lands where the comparisons above put it.
 */
export function histogramCountsUnsorted(values: Float64Array, edges: Float64Array): Float64Array {
  const bins = edges.length - 1;
  const counts = new Float64Array(bins);
  const first = edges[0]!;
  const lastEdge = edges[bins]!;
  const norm = bins / (lastEdge - first);
  const n = values.length;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!(v >= first && v <= lastEdge)) continue;
    const guess = (v - first) * norm;
    let bin = guess < bins ? guess | 0 : bins - 1;
    while (bin > 0 && v < edges[bin]!) bin--;
    while (bin < bins - 1 && v >= edges[bin + 1]!) bin++;
    counts[bin]!++;
  }
  return counts;
}

/** np.histogram(column, edges)[0]: by binary search if the column is sorted already, else in one pass. */
export function columnCounts(column: PreparedNumericalColumn, edges: Float64Array): Float64Array {
  return column.isSorted ? histogramCounts(column.sorted, edges) : histogramCountsUnsorted(column.values, edges);
}

function numericalBins(reference: PreparedNumericalColumn, current: PreparedNumericalColumn): BinnedShares {
  const min = Math.min(reference.min, current.min);
  const max = Math.max(reference.max, current.max);
  const edges = sturgesEdges(min, max, reference.rows + current.rows);
  const ref = columnCounts(reference, edges);
  const cur = columnCounts(current, edges);
  for (let i = 0; i < ref.length; i++) {
    ref[i] = (ref[i] as number) / reference.rows;
    cur[i] = (cur[i] as number) / current.rows;
  }
  return { reference: ref, current: cur };
}

function valueBins(reference: PreparedColumn, current: PreparedColumn): BinnedShares {
  const refCounts = valueCounts(reference);
  const curCounts = valueCounts(current);
  const keys = [...new Set([...refCounts.keys(), ...curCounts.keys()])];
  const ref = new Float64Array(keys.length);
  const cur = new Float64Array(keys.length);
  keys.forEach((key, i) => {
    ref[i] = (refCounts.get(key) ?? 0) / reference.rows;
    cur[i] = (curCounts.get(key) ?? 0) / current.rows;
  });
  return { reference: ref, current: cur };
}

/** Replace the zero shares of one side, as Evidently's `feel_zeroes` does. */
function fillZeros(shares: Float64Array): Float64Array {
  let min = Number.POSITIVE_INFINITY;
  for (const s of shares) if (s !== 0 && s < min) min = s;
  if (min === Number.POSITIVE_INFINITY) return shares;
  const fill = min <= 0.0001 ? min / 10 ** 6 : 0.0001;
  return shares.map((s) => (s === 0 ? fill : s));
}

/** Reference and current shares per bucket, with or without zero filling. */
export function binnedShares(reference: PreparedColumn, current: PreparedColumn, fillZeroes: boolean): BinnedShares {
  const binned =
    reference.kind === 'numerical' && current.kind === 'numerical' && reference.distinct > BINNING_DISTINCT_LIMIT
      ? numericalBins(reference, current)
      : valueBins(reference, current);
  if (!fillZeroes) return binned;
  return { reference: fillZeros(binned.reference), current: fillZeros(binned.current) };
}
