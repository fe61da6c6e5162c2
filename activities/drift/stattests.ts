/**
 * The six Evidently drift tests on prepared columns, each returning Evidently's drift_score: a p-value for
 * ks, chisquare and z, a distance for wasserstein, jensenshannon and psi. The verdicts (which comparison
 * against which default threshold) live in index.ts.
 */
import { compareCodePoints, CompensatedSum } from './arrays.js';
import { binnedShares } from './binning.js';
import { valueCounts, type PreparedColumn, type PreparedNumericalColumn } from './column.js';
import { chiSquareSf, normalCdf } from './distributions.js';
import { ksFromStatistic, ksStatistic, ksStatisticOnGrid } from './ks.js';
import { wassersteinDistance, wassersteinDistanceOnGrid } from './wasserstein.js';

/**
 * Two-sided two-sample Kolmogorov-Smirnov p-value (scipy ks_2samp, method 'auto'). Against a reference with
 * a grid the window is not sorted (ksStatisticOnGrid gives the same statistic).
 */
export function ksTest(reference: PreparedNumericalColumn, current: PreparedNumericalColumn): number {
  const grid = reference.grid;
  const statistic = grid
    ? ksStatisticOnGrid(reference.sorted, grid, current.values, current.profileOn(grid, false))
    : ksStatistic(reference.sorted, current.sorted);
  return ksFromStatistic(reference.rows, current.rows, statistic).pvalue;
}

/**
 * Pearson chi-square p-value of the current category counts against the reference shares scaled to the
 * current size, over the categories seen on either side (so a category new in current has expectation 0,
 * an infinite statistic and p = 0, as in scipy). With a single category there is nothing to compare and
 * the p-value is 1 (scipy's df = 0 case gives NaN, or 0 when rounding leaves a tiny statistic).
 */
export function chiSquareTest(reference: PreparedColumn, current: PreparedColumn): number {
  const ref = valueCounts(reference);
  const cur = valueCounts(current);
  const keys = new Set([...ref.keys(), ...cur.keys()]);
  if (keys.size < 2) return 1;
  const scale = current.rows / reference.rows;
  const stat = new CompensatedSum();
  for (const key of keys) {
    const expected = (ref.get(key) ?? 0) * scale;
    const observed = cur.get(key) ?? 0;
    stat.add((observed - expected) ** 2 / expected);
  }
  return chiSquareSf(stat.value, keys.size - 1);
}

function compareKeys(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return compareCodePoints(String(a), String(b));
}

/**
 * Two-proportion Z-test p-value: the smallest value (Python's sorted order) against all others, pooled
 * variance, 2 * (1 - Phi(|z|)) exactly as Evidently writes it. Both sides holding the same single value
 * give p = 1.
 */
export function zTest(reference: PreparedColumn, current: PreparedColumn): number {
  const ref = valueCounts(reference);
  const cur = valueCounts(current);
  if (ref.size === 1 && cur.size === 1 && [...ref.keys()][0] === [...cur.keys()][0]) return 1;
  const first = [...new Set([...ref.keys(), ...cur.keys()])].sort(compareKeys)[0] as string | number;
  const n1 = reference.rows;
  const n2 = current.rows;
  const p1 = (n1 - (ref.get(first) ?? 0)) / n1;
  const p2 = (n2 - (cur.get(first) ?? 0)) / n2;
  const pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  const z = (p1 - p2) / Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  return 2 * (1 - normalCdf(Math.abs(z)));
}

/**
 * First Wasserstein distance between the two empirical distributions (scipy wasserstein_distance), divided
 * by the reference's population standard deviation floored at 0.001, as Evidently normalises it. Against a
 * reference with a grid the window is not sorted.
 */
export function wassersteinTest(reference: PreparedNumericalColumn, current: PreparedNumericalColumn): number {
  const grid = reference.grid;
  const distance = grid
    ? wassersteinDistanceOnGrid(reference.sorted, grid, current.values, current.profileOn(grid, true))
    : wassersteinDistance(reference.sorted, current.sorted);
  return distance / Math.max(reference.std, 0.001);
}

/** scipy.special.rel_entr(x, y) = x log(x / y), 0 when x = 0. */
function relativeEntropy(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Number.POSITIVE_INFINITY;
}

function sum(values: Float64Array): number {
  const acc = new CompensatedSum();
  for (const v of values) acc.add(v);
  return acc.value;
}

/**
 * Jensen-Shannon distance (scipy.spatial.distance.jensenshannon, natural log) between the binned shares,
 * without zero filling.
 */
export function jensenShannonTest(reference: PreparedColumn, current: PreparedColumn): number {
  const binned = binnedShares(reference, current, false);
  const sp = sum(binned.reference);
  const sq = sum(binned.current);
  const left = new CompensatedSum();
  const right = new CompensatedSum();
  for (let i = 0; i < binned.reference.length; i++) {
    const p = (binned.reference[i] as number) / sp;
    const q = (binned.current[i] as number) / sq;
    const m = (p + q) / 2;
    left.add(relativeEntropy(p, m));
    right.add(relativeEntropy(q, m));
  }
  // Clamped: for near-identical shares rounding can leave -1e-17, whose square root would be NaN.
  return Math.sqrt(Math.max(0, (left.value + right.value) / 2));
}

/** Population stability index sum((r - c) ln(r / c)) over the zero-filled binned shares. */
export function psiTest(reference: PreparedColumn, current: PreparedColumn): number {
  const binned = binnedShares(reference, current, true);
  const acc = new CompensatedSum();
  for (let i = 0; i < binned.reference.length; i++) {
    const r = binned.reference[i] as number;
    const c = binned.current[i] as number;
    acc.add((r - c) * Math.log(r / c));
  }
  return acc.value;
}
