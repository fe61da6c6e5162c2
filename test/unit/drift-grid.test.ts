import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { histogramCounts, histogramCountsUnsorted } from '../../activities/drift/binning.js';
import { prepareReferenceColumn } from '../../activities/drift/column.js';
import { buildGrid, profileWindow } from '../../activities/drift/grid.js';
import { columnHistogram, detectColumnDrift, prepareColumn, type PreparedNumericalColumn, type StatTestName } from '../../activities/drift/index.js';
import { ksStatistic, ksStatisticOnGrid } from '../../activities/drift/ks.js';
import { wassersteinDistance, wassersteinDistanceOnGrid } from '../../activities/drift/wasserstein.js';
import { seededRandom } from '../harness/datasets.js';
import { ensurePythonReference } from '../harness/python-reference.js';

/**
 * A window is compared with a prepared reference through the reference's cell grid, without sorting the
 * window (grid.ts). These tests hold that path to the plain merge over two sorted samples (the KS statistic
 * to the bit, Wasserstein to rounding) on inputs chosen to break it, and to scipy and numpy live at sizes
 * where the grid is what runs.
 */

const run = promisify(execFile);

function normals(random: () => number, n: number, mean = 0, sd = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + sd * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return out;
}

const sortedCopy = (values: Float64Array) => values.slice().sort();

type Sample = (random: () => number, n: number) => Float64Array;

const REFERENCES: Record<string, Sample> = {
  normal: (r, n) => normals(r, n),
  'normal with extreme outliers': (r, n) => {
    const v = normals(r, n);
    v[0] = 1e300;
    v[1] = -1e300;
    v[2] = 5e6;
    return v;
  },
  'integers 0..9 (ties everywhere)': (r, n) => Float64Array.from({ length: n }, () => Math.floor(r() * 10)),
  'half one value, half normal': (r, n) => Float64Array.from({ length: n }, (_, i) => (i % 2 ? 0.25 : normals(r, 1)[0]!)),
  'heavy tail (lognormal, sd 3)': (r, n) => normals(r, n).map((v) => Math.exp(3 * v)),
  'zeros of both signs and subnormals among normal values': (r, n) => Float64Array.from({ length: n }, () => {
    const u = r();
    return u < 0.2 ? 0 : u < 0.4 ? -0 : u < 0.55 ? (u - 0.5) * 1e-310 : normals(r, 1)[0]!;
  }),
  'two clusters far apart': (r, n) => normals(r, n).map((v, i) => (i % 3 ? v : v + 1e6)),
};

const WINDOWS: Record<string, (reference: Float64Array, random: () => number) => Float64Array> = {
  'same distribution': (ref, r) => Float64Array.from({ length: 3000 }, () => ref[Math.floor(r() * ref.length)]! + (r() < 0.5 ? 0 : 1e-9 * (r() - 0.5))),
  'the reference values themselves (exact ties)': (ref) => ref.slice(0, 2500),
  'shifted by 0.1 of the range': (ref, r) => {
    const s = sortedCopy(ref);
    const shift = 0.1 * (s[Math.floor(s.length * 0.9)]! - s[Math.floor(s.length * 0.1)]!);
    return Float64Array.from({ length: 4000 }, () => ref[Math.floor(r() * ref.length)]! + shift);
  },
  'squeezed to a hundredth': (ref, r) => Float64Array.from({ length: 2000 }, () => ref[Math.floor(r() * ref.length)]! / 100),
  'far beyond the reference': (ref, r) => Float64Array.from({ length: 1500 }, () => 1e9 + r()),
  'far below the reference': (ref, r) => Float64Array.from({ length: 1500 }, () => -1e12 * (1 + r())),
  'one value': () => Float64Array.of(0.5),
  'a constant': () => new Float64Array(700).fill(3),
};

describe('KS and Wasserstein on the reference grid, against the merge of two sorted samples', () => {
  const cases = Object.entries(REFERENCES).flatMap(([refName, makeRef], r) =>
    Object.entries(WINDOWS).map(([winName, makeWin], w) => [`${refName} / ${winName}`, makeRef, makeWin, 1000 * r + w] as const),
  );

  it.each(cases)('%s', (_name, makeRef, makeWin, seed) => {
    const random = seededRandom(seed + 1);
    const reference = sortedCopy(makeRef(random, 6000));
    const window = makeWin(reference, random);
    const windowSorted = sortedCopy(window);
    const expectedD = ksStatistic(reference, windowSorted);
    const expectedW = wassersteinDistance(reference, windowSorted);
    let grids = 0;
    for (const rowsPerCell of [1, 3, 32, 500]) {
      const grid = buildGrid(reference, rowsPerCell, 1, Number.POSITIVE_INFINITY);
      if (!grid) continue;
      grids++;
      const profile = profileWindow(grid, window, true);
      expect(ksStatisticOnGrid(reference, grid, window, profileWindow(grid, window, false)), `KS, ${rowsPerCell} rows per cell`).toBe(expectedD);
      expect(ksStatisticOnGrid(reference, grid, window, profile), `KS, ${rowsPerCell} rows per cell`).toBe(expectedD);
      const got = wassersteinDistanceOnGrid(reference, grid, window, profile);
      if (got !== expectedW) {
        expect(Math.abs(got - expectedW) / Math.abs(expectedW), `Wasserstein ${got} vs ${expectedW}, ${rowsPerCell} rows per cell`).toBeLessThanOrEqual(1e-12);
      }
    }
    expect(grids).toBeGreaterThan(0);
  });

  it('gives no grid for a constant or small reference, and the window is then sorted as before', () => {
    expect(buildGrid(new Float64Array(10_000).fill(2))).toBeUndefined();
    expect(buildGrid(Float64Array.from({ length: 100 }, (_, i) => i))).toBeUndefined();
    // Most rows on a few values: walking their cells would cost more than sorting the window.
    expect(buildGrid(Float64Array.from({ length: 100_000 }, (_, i) => Math.floor(i / 10_000)))).toBeUndefined();
    expect(buildGrid(Float64Array.from({ length: 100_000 }, (_, i) => Math.floor(i / 100)))).toBeDefined();
    // Cells narrower than the smallest double: no grid either.
    expect(buildGrid(Float64Array.from({ length: 10_000 }, (_, i) => (i - 5000) * 1e-320))).toBeUndefined();
    const constant = prepareReferenceColumn({ kind: 'numerical', values: new Float64Array(10_000).fill(2) }) as PreparedNumericalColumn;
    const window = prepareColumn({ kind: 'numerical', values: [1, 2, 3] }) as PreparedNumericalColumn;
    expect(detectColumnDrift('x', constant, window, { stattest: 'ks' }).statistic).toBeGreaterThan(0);
    expect(window.isSorted).toBe(true);
  });

  it('compares a window with a large reference without sorting the window, for KS, Wasserstein, PSI and the histogram', () => {
    const random = seededRandom(99);
    const reference = prepareReferenceColumn({ kind: 'numerical', values: normals(random, 50_000) }) as PreparedNumericalColumn;
    expect(reference.grid).toBeDefined();
    const windowValues = normals(random, 20_000, 0.05);
    const window = prepareColumn({ kind: 'numerical', values: windowValues }) as PreparedNumericalColumn;
    const results = (['ks', 'wasserstein', 'psi', 'jensenshannon'] as StatTestName[]).map((stattest) => detectColumnDrift('x', reference, window, { stattest }).statistic);
    const histogram = columnHistogram(reference, window);
    expect(window.isSorted).toBe(false);
    // The same window sorted first takes the binary-search and merge paths: the same numbers.
    const sortedWindow = prepareColumn({ kind: 'numerical', values: windowValues }) as PreparedNumericalColumn;
    void sortedWindow.sorted;
    const plain = (['ks', 'wasserstein', 'psi', 'jensenshannon'] as StatTestName[]).map((stattest) => detectColumnDrift('x', reference, sortedWindow, { stattest }).statistic);
    expect(results[0]).toBe(plain[0]);
    expect(Math.abs(results[1]! - plain[1]!) / plain[1]!).toBeLessThanOrEqual(1e-12);
    expect(results.slice(2)).toEqual(plain.slice(2));
    expect(columnHistogram(reference, sortedWindow)).toEqual(histogram);
  });
});

describe('numerical columns prepared without sorting', () => {
  it('keep the finite values in arrival order with their minimum and maximum, from typed arrays and plain arrays', () => {
    const input = [3, Number.NaN, -2, Number.POSITIVE_INFINITY, 7, Number.NEGATIVE_INFINITY, 0.5];
    for (const values of [Float64Array.from(input), input, Float64Array.of(3, -2, 7, 0.5)]) {
      const column = prepareColumn({ kind: 'numerical', values }) as PreparedNumericalColumn;
      expect(Array.from(column.values)).toEqual([3, -2, 7, 0.5]);
      expect([column.rows, column.min, column.max, column.isSorted]).toEqual([4, -2, 7, false]);
      expect(Array.from(column.sorted)).toEqual([-2, 0.5, 3, 7]);
      expect(column.isSorted).toBe(true);
    }
    // A Float64Array with nothing missing is read where it is and never written: the sort works on a copy.
    const typed = Float64Array.of(3, 1, 2);
    const column = prepareColumn({ kind: 'numerical', values: typed }) as PreparedNumericalColumn;
    expect(column.values).toBe(typed);
    expect(Array.from(column.sorted)).toEqual([1, 2, 3]);
    expect(Array.from(typed)).toEqual([3, 1, 2]);
    const reference = prepareReferenceColumn({ kind: 'numerical', values: typed }) as PreparedNumericalColumn;
    expect(reference.values).not.toBe(typed);
    expect(Array.from(typed)).toEqual([3, 1, 2]);
    const empty = prepareColumn({ kind: 'numerical', values: Float64Array.of(Number.NaN) }) as PreparedNumericalColumn;
    expect([empty.rows, empty.min, empty.max]).toEqual([0, Number.NaN, Number.NaN]);
  });
});

describe('histogram counts from unsorted values', () => {
  it('puts every value where the binary search over sorted values puts it: on edges, outside them, with repeated edges', () => {
    const random = seededRandom(5);
    for (let trial = 0; trial < 200; trial++) {
      const bins = 1 + Math.floor(random() * 40);
      const first = (random() - 0.5) * 10;
      const span = random() < 0.1 ? 1e-13 : random() * 10;
      const edges = Float64Array.from({ length: bins + 1 }, (_, i) => (i === bins ? first + span : first + (i * span) / bins));
      if (trial % 7 === 0) edges[Math.floor(bins / 2)] = edges[Math.floor(bins / 2) + 1]!; // a repeated edge
      const values = Float64Array.from({ length: 500 }, () => {
        const u = random();
        if (u < 0.3) return edges[Math.floor(random() * (bins + 1))]!; // exactly on an edge
        return first - span * 0.1 + random() * span * 1.2;
      });
      expect(Array.from(histogramCountsUnsorted(values, edges)), `trial ${trial}`).toEqual(Array.from(histogramCounts(sortedCopy(values), edges)));
    }
  });
});

// ------------------------------------------------------------------------------------------------------------
// Live against scipy 1.17.1 and numpy 2.4.6, at sizes where the grid runs.

const REFERENCE_SCRIPT = `
import json, sys
import numpy as np
from scipy.stats import ks_2samp, wasserstein_distance
out = []
for ref_path, cur_path in json.load(open(sys.argv[1])):
    x = np.fromfile(ref_path, dtype='<f8')
    y = np.fromfile(cur_path, dtype='<f8')
    ks = ks_2samp(x, y)
    bins = np.histogram_bin_edges(np.concatenate([x, y]), bins='sturges')
    ref = np.histogram(x, bins)[0] / len(x)
    cur = np.histogram(y, bins)[0] / len(y)
    for p in (ref, cur):
        m = np.min(p[p != 0])
        p[p == 0] = m / 10**6 if m <= 0.0001 else 0.0001
    out.append({"ks": float(ks.pvalue), "d": float(ks.statistic), "method": ks.method if hasattr(ks, 'method') else None,
                "wasserstein": float(wasserstein_distance(x, y) / max(np.std(x), 0.001)),
                "psi": float(np.sum((ref - cur) * np.log(ref / cur)))})
print(json.dumps(out))
`;

describe('grid-path tests against scipy and numpy, live', () => {
  const random = seededRandom(2026);
  const reference = normals(random, 200_000, 10, 2);
  const heavy = normals(random, 100_000).map((v) => Math.round(Math.exp(2 * v) * 100) / 100);
  const cents = (v: number) => Math.round(v * 100) / 100;
  const cases = [
    { name: 'same distribution', reference, current: normals(random, 150_000, 10, 2), grid: true },
    { name: 'shifted by 0.01 sd (one-sided Smirnov sum for the p-value)', reference, current: normals(random, 200_000, 10.02, 2), grid: true },
    { name: 'shifted by 0.2 sd', reference, current: normals(random, 90_000, 10.4, 2), grid: true },
    { name: 'wider, with values far outside the reference', reference, current: normals(random, 120_000, 10, 20), grid: true },
    { name: 'rounded to cents (ties)', reference: reference.map(cents), current: normals(random, 100_000, 10.01, 2).map(cents), grid: true },
    // Too skewed for equal-width cells: no grid, the window is sorted.
    { name: 'heavy tail rounded to cents, without a grid', reference: heavy, current: normals(random, 80_000, 0.1).map((v) => cents(Math.exp(2 * v))), grid: false },
  ];
  let expected: { ks: number; d: number; wasserstein: number; psi: number }[] = [];
  let dir = '';

  beforeAll(async () => {
    const { python } = await ensurePythonReference();
    dir = await mkdtemp(join(tmpdir(), 'steward-drift-grid-'));
    const files = await Promise.all(
      cases.map(async (c, i) => {
        const paths = [join(dir, `${i}-ref.f64`), join(dir, `${i}-cur.f64`)];
        await writeFile(paths[0]!, new Uint8Array(c.reference.buffer));
        await writeFile(paths[1]!, new Uint8Array(c.current.buffer));
        return paths;
      }),
    );
    await writeFile(join(dir, 'cases.json'), JSON.stringify(files));
    await writeFile(join(dir, 'reference.py'), REFERENCE_SCRIPT);
    const { stdout } = await run(python, [join(dir, 'reference.py'), join(dir, 'cases.json')], { maxBuffer: 1 << 24 });
    expected = JSON.parse(stdout) as typeof expected;
  }, 300_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each(cases.map((c, i) => [c.name, i] as const))('%s: KS p-value, Wasserstein and PSI within 1e-9 of scipy/numpy', (_name, i) => {
    const c = cases[i]!;
    const ref = prepareReferenceColumn({ kind: 'numerical', values: c.reference }) as PreparedNumericalColumn;
    expect(ref.grid !== undefined).toBe(c.grid);
    const close = (actual: number, wanted: number, label: string) => {
      if (Math.abs(actual - wanted) <= 1e-15) return;
      expect(Math.abs(actual - wanted) / Math.abs(wanted), `${label}: ${actual} vs ${wanted}`).toBeLessThanOrEqual(1e-9);
    };
    const theirs = expected[i]!;
    for (const stattest of ['ks', 'wasserstein', 'psi'] as const) {
      const window = prepareColumn({ kind: 'numerical', values: c.current });
      const drift = detectColumnDrift('x', ref, window, { stattest });
      close(drift.statistic, theirs[stattest], stattest);
      expect(drift.drifted, stattest).toBe(stattest === 'ks' ? theirs.ks <= 0.05 : theirs[stattest] >= 0.1);
    }
    const window = prepareColumn({ kind: 'numerical', values: c.current }) as PreparedNumericalColumn;
    const d = ref.grid ? ksStatisticOnGrid(ref.sorted, ref.grid, window.values, window.profileOn(ref.grid, false)) : ksStatistic(ref.sorted, window.sorted);
    expect(d).toBe(theirs.d);
  });
});
