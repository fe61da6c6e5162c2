/**
 * Two-sample Kolmogorov-Smirnov test, two-sided, as scipy.stats.ks_2samp(x, y) with method='auto'.
 *
 * The statistic is one merge over the two sorted samples (O(n1 + n2)); the p-value is exact when
 * max(n1, n2) <= 10000 (scipy's MAX_AUTO_N) and otherwise the one-sample Kolmogorov distribution at the
 * effective size round(n1 n2 / (n1 + n2)). An exact result outside [0, 1] (rounding) falls back to the
 * asymptotic one, as in scipy.
 */
import { roundHalfEven } from './float.js';
import { gatherCells, type ReferenceGrid, type WindowProfile } from './grid.js';
import { kolmogorovSf } from './kolmogorov.js';

export const KS_MAX_EXACT_N = 10000;

export interface KsResult {
  /** sup |F1 - F2|; when the exact path ran, snapped to the lattice h / lcm(n1, n2) as scipy reports it. */
  readonly statistic: number;
  readonly pvalue: number;
  readonly method: 'exact' | 'asymp';
}

/**
 * sup_t |F1(t) - F2(t)| over two ascending samples. F is evaluated after all values equal to t (numpy's
 * searchsorted side='right'), so ties are handled as scipy does, and each difference is formed as
 * i/n1 - j/n2 in the same floating-point steps.
 */
export function ksStatistic(x: Float64Array, y: Float64Array): number {
  const n1 = x.length;
  const n2 = y.length;
  let max = 0;
  let min = 0;
  // One step per distinct value v of both samples merged, with i and j the counts of x and y values <= v
  // (written out rather than through a callback: it runs ~2 * 10^6 times per window).
  let i = 0;
  let j = 0;
  while (i < n1 || j < n2) {
    const xi = i < n1 ? x[i]! : Number.POSITIVE_INFINITY;
    const yj = j < n2 ? y[j]! : Number.POSITIVE_INFINITY;
    const v = xi <= yj ? xi : yj;
    while (i < n1 && x[i]! <= v) i++;
    while (j < n2 && y[j]! <= v) j++;
    const diff = i / n1 - j / n2;
    if (diff > max) max = diff;
    if (diff < min) min = diff;
  }
  const minS = Math.min(-min, 1);
  return minS > max ? minS : max;
}

/** Scratch reused across windows: each cell's bound on |F1 - F2| inside it. */
let cellBounds = new Float64Array(0);

/**
 * ksStatistic(reference, window sorted) from the reference's grid and the window's unsorted values, the
 * same double. At the end of each cell the difference i/n1 - j/n2 is known from the counts (i, j: values in
 * that cell and below), and inside cell c it lies between start[c]/n1 - j1/n2 and start[c + 1]/n1 - j0/n2
 * (rounding is monotone, so these bound the computed differences too). The counts give a lower bound on the
 * statistic; only cells whose bound exceeds it are walked value by value, largest bound first, until no
 * remaining cell can raise it.
 */
export function ksStatisticOnGrid(reference: Float64Array, grid: ReferenceGrid, window: Float64Array, profile: WindowProfile): number {
  const n1 = reference.length;
  const n2 = window.length;
  const { cells, start } = grid;
  const { counts } = profile;
  if (cellBounds.length < cells) cellBounds = new Float64Array(cells);
  const bounds = cellBounds;
  let best = 0;
  let j0 = 0;
  for (let c = 0; c < cells; c++) {
    const i0 = start[c]!;
    const i1 = start[c + 1]!;
    const j1 = j0 + counts[c]!;
    const end = i1 / n1 - j1 / n2;
    if (end > best) best = end;
    else if (-end > best) best = -end;
    let bound = 0;
    if (i1 > i0 || j1 > j0) {
      const up = i1 / n1 - j0 / n2;
      const low = i0 / n1 - j1 / n2;
      bound = up > -low ? up : -low;
    }
    bounds[c] = bound;
    j0 = j1;
  }
  const open: number[] = [];
  for (let c = 0; c < cells; c++) if (bounds[c]! > best) open.push(c);
  if (open.length === 0) return best;
  open.sort((a, b) => bounds[b]! - bounds[a]!);
  const gathered = gatherCells(grid, window, profile, open);
  const cur = gathered.values;
  // j0 of each open cell: values of the window in the cells before it.
  const before = new Int32Array(cells + 1);
  for (let c = 0; c < cells; c++) before[c + 1] = before[c]! + counts[c]!;
  for (let k = 0; k < open.length; k++) {
    const c = open[k]!;
    if (bounds[c]! <= best) break;
    const i1 = start[c + 1]!;
    const jOffset = before[c]! - gathered.offsets[k]!;
    const bEnd = gathered.offsets[k + 1]!;
    let a = start[c]!;
    let b = gathered.offsets[k]!;
    while (a < i1 || b < bEnd) {
      const x = a < i1 ? reference[a]! : Number.POSITIVE_INFINITY;
      const y = b < bEnd ? cur[b]! : Number.POSITIVE_INFINITY;
      const v = x <= y ? x : y;
      while (a < i1 && reference[a]! <= v) a++;
      while (b < bEnd && cur[b]! <= v) b++;
      const diff = a / n1 - (jOffset + b) / n2;
      if (diff > best) best = diff;
      else if (-diff > best) best = -diff;
    }
  }
  return best;
}

function gcd(a: number, b: number): number {
  let p = a;
  let q = b;
  while (q !== 0) [p, q] = [q, p % q];
  return p;
}

/**
 * P(D_{n,n} >= h/n) for equal sample sizes: 2 (C(2n, n-h) - C(2n, n-2h) + ...) / C(2n, n), evaluated with
 * each term divided by C(2n, n) and nested Horner-style to avoid cancellation.
 */
function equalSizeTail(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    p = p1 * (1 - p);
  }
  return 2 * p;
}

/**
 * 1 - P(all lattice paths from (0,0) to (m,n) stay strictly inside |x/m - y/n| < h/lcm) for unequal sizes:
 * Hodges' inside method in Viehmann's form, which carries the complement directly in one sliding column
 * so that no huge binomials appear.
 */
function unequalSizeTail(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const a = new Float64Array(lenA).fill(1);
  a.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = ((a[jj + minj - lastminj] as number) * i + val * j) / (i + j);
      a[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) a.fill(1, maxj - minj, Math.min(maxj - minj + (lastlen - curlen), lenA));
  }
  return a[maxj - minj - 1] as number;
}

/**
 * Exact two-sided P(D >= d) under H0 for sample sizes n1, n2 (scipy's _attempt_exact_2kssamp). Returns the
 * statistic snapped to the lattice and the probability, or ok=false when rounding pushed it outside [0, 1].
 */
export function ksExactTail(n1: number, n2: number, d: number): { readonly ok: boolean; readonly d: number; readonly pvalue: number } {
  const g = gcd(n1, n2);
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(d * lcm);
  const snapped = h / lcm;
  if (h === 0) return { ok: true, d: snapped, pvalue: 1 };
  const p = n1 === n2 ? equalSizeTail(n1, h) : unequalSizeTail(n1, n2, g, h);
  const ok = p >= 0 && p <= 1;
  return { ok, d: snapped, pvalue: p };
}

/** Asymptotic two-sided p-value: the one-sample Kolmogorov tail at the effective sample size. */
export function ksAsymptoticTail(n1: number, n2: number, d: number): number {
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = (m * n) / (m + n);
  return kolmogorovSf(roundHalfEven(en), d);
}

function clip01(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p;
}

/** ks_2samp(x, y) for two ascending, non-empty samples. */
export function ksTwoSample(x: Float64Array, y: Float64Array): KsResult {
  return ksFromStatistic(x.length, y.length, ksStatistic(x, y));
}

/** ks_2samp's result for samples of n1 and n2 values whose statistic (sup |F1 - F2|) is `statistic`. */
export function ksFromStatistic(n1: number, n2: number, statistic: number): KsResult {
  if (n1 === 0 || n2 === 0) throw new Error('ks_2samp needs two non-empty samples');
  let d = statistic;
  if (Math.max(n1, n2) <= KS_MAX_EXACT_N) {
    const exact = ksExactTail(n1, n2, d);
    d = exact.d;
    if (exact.ok) return { statistic: d, pvalue: clip01(exact.pvalue), method: 'exact' };
  }
  return { statistic: d, pvalue: clip01(ksAsymptoticTail(n1, n2, d)), method: 'asymp' };
}
