import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binnedShares, sturgesEdges } from '../../activities/drift/binning.js';
import {
  defaultThreshold,
  detectColumnDrift,
  detectDatasetDrift,
  isDrift,
  prepareColumn,
  STAT_TEST_NAMES,
  type ColumnDrift,
  type ColumnKind,
  type PreparedColumn,
  type StatTestName,
} from '../../activities/drift/index.js';
import { kolmogorovSf } from '../../activities/drift/kolmogorov.js';
import { ksExactTail, ksStatistic, ksTwoSample } from '../../activities/drift/ks.js';
import { sortFloat64 } from '../../activities/drift/sort.js';

/**
 * The drift statistics against reference values computed by the real scipy and Evidently
 * (scripts/drift-reference.py wrote test/fixtures/drift/*.json; each fixture holds its inputs too).
 * p-values and statistics must agree to 1e-9 relative (or 1e-15 absolute where tiny), distances to 1e-9
 * relative (or 1e-12 absolute), and test names and verdicts exactly.
 */

const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'drift');
const load = <T>(name: string): T => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as T;

type RawValue = number | string | null;

/** Fixture encoding: numbers, null for NaN/None, "inf"/"-inf"; categories as strings, null when missing. */
function decodeNumber(v: RawValue): number {
  if (v === null) return Number.NaN;
  if (v === 'inf') return Number.POSITIVE_INFINITY;
  if (v === '-inf') return Number.NEGATIVE_INFINITY;
  return v as number;
}

function prepare(kind: ColumnKind, values: readonly RawValue[]): PreparedColumn {
  return kind === 'numerical'
    ? prepareColumn({ kind, values: values.map(decodeNumber) })
    : prepareColumn({ kind, values: values.map((v) => (v === null ? '' : String(v))) });
}

function expectClose(actual: number, expected: number | null, rel: number, abs: number): void {
  if (expected === null) {
    expect(actual).toBeNaN();
    return;
  }
  if (actual === expected) return;
  const diff = Math.abs(actual - expected);
  if (diff <= abs) return;
  expect(diff / Math.abs(expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(rel);
}

const isPValue = (t: StatTestName) => t === 'ks' || t === 'chisquare' || t === 'z';
/** p-values to 1e-9 relative or 1e-15 absolute; distances to 1e-9 relative or 1e-12 absolute. */
function expectScore(stattest: StatTestName, actual: number, expected: number | null): void {
  expectClose(actual, expected, 1e-9, isPValue(stattest) ? 1e-15 : 1e-12);
}

// ------------------------------------------------------------------------------------------------------------
// Kolmogorov-Smirnov

interface KsFixture {
  readonly samples: readonly {
    readonly name: string;
    readonly method: 'exact' | 'asymp';
    readonly x: readonly number[];
    readonly y: readonly number[];
    readonly statistic: number;
    readonly pvalue: number;
  }[];
  readonly exact: readonly { readonly n1: number; readonly n2: number; readonly d: number; readonly pvalue: number; readonly exact: boolean }[];
  readonly kolmogorov: readonly { readonly n: number; readonly x: number; readonly sf: number }[];
}

const ks = load<KsFixture>('ks.json');
const sorted = (v: readonly number[]) => Float64Array.from(v).sort();

describe('two-sample Kolmogorov-Smirnov test (scipy ks_2samp)', () => {
  it.each(ks.samples.map((s) => [s.name, s] as const))('%s', (_name, s) => {
    const result = ksTwoSample(sorted(s.x), sorted(s.y));
    expect(result.method).toBe(s.method);
    expectClose(result.statistic, s.statistic, 1e-12, 0);
    expectClose(result.pvalue, s.pvalue, 1e-9, 1e-15);
  });

  it('covers equal sizes, unequal sizes, ties and samples above 10000 values', () => {
    const names = ks.samples.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['equal sizes', 'unequal sizes', 'ties', 'ties, equal sizes']));
    const big = ks.samples.filter((s) => Math.max(s.x.length, s.y.length) > 10000);
    expect(big.length).toBeGreaterThanOrEqual(2);
    expect(big.every((s) => s.method === 'asymp')).toBe(true);
    expect(ks.samples.some((s) => s.x.length !== s.y.length && s.method === 'exact')).toBe(true);
    expect(ks.samples.some((s) => new Set(s.x).size < s.x.length)).toBe(true);
  });

  it('runs through detectColumnDrift with the p-value as the statistic and p <= 0.05 as drift', () => {
    for (const s of ks.samples) {
      const drift = detectColumnDrift('x', prepare('numerical', s.x), prepare('numerical', s.y), { stattest: 'ks' });
      expect(drift.stattest).toBe('ks');
      expectClose(drift.statistic, s.pvalue, 1e-9, 1e-15);
      expect(drift.drifted).toBe(s.pvalue <= 0.05);
    }
  });

  it('matches the exact null distribution on a grid of sizes and statistics', () => {
    for (const e of ks.exact) {
      const got = ksExactTail(e.n1, e.n2, e.d);
      expect(got.ok, `${e.n1} ${e.n2} ${e.d}`).toBe(e.exact);
      expectClose(got.pvalue, e.pvalue, 1e-10, 1e-15);
    }
  });

  it('matches the one-sample Kolmogorov survival function (kstwo.sf) in every branch', () => {
    expect(ks.kolmogorov.length).toBeGreaterThan(300);
    for (const e of ks.kolmogorov) {
      const got = kolmogorovSf(e.n, e.x);
      if (Math.abs(got - e.sf) > 1e-15) expect(Math.abs(got - e.sf) / e.sf, `n=${e.n} x=${e.x}`).toBeLessThan(1e-10);
    }
  });

  it('computes the statistic with ties like searchsorted(side=right)', () => {
    // Brute force: max over all observed values t of |F1(t) - F2(t)| with F(t) = #(v <= t) / n.
    let seed = 17;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let trial = 0; trial < 50; trial++) {
      const x = Array.from({ length: 1 + Math.floor(next() * 40) }, () => Math.floor(next() * 10) / 2);
      const y = Array.from({ length: 1 + Math.floor(next() * 40) }, () => Math.floor(next() * 12) / 2);
      let brute = 0;
      for (const t of [...x, ...y]) {
        const f1 = x.filter((v) => v <= t).length / x.length;
        const f2 = y.filter((v) => v <= t).length / y.length;
        brute = Math.max(brute, Math.abs(f1 - f2));
      }
      expect(ksStatistic(sorted(x), sorted(y))).toBe(brute);
    }
  });
});

// ------------------------------------------------------------------------------------------------------------
// Evidently's tests, one column at a time

interface StatTestsFixture {
  readonly cases: readonly {
    readonly name: string;
    readonly kind: ColumnKind;
    readonly reference: readonly RawValue[];
    readonly current: readonly RawValue[];
    readonly default: StatTestName;
    readonly results: readonly { readonly stattest: StatTestName; readonly score: number | null; readonly drifted: boolean; readonly threshold: number }[];
    readonly binned: { readonly reference: readonly number[]; readonly current: readonly number[] };
    readonly binnedNoFill: { readonly reference: readonly number[]; readonly current: readonly number[] };
  }[];
}

const stattests = load<StatTestsFixture>('stattests.json');

describe('Evidently drift tests on single columns', () => {
  const rows = stattests.cases.flatMap((c) => c.results.map((r) => [c.name, r.stattest, r.threshold, c, r] as const));
  it.each(rows)('%s: %s (threshold %s)', (_name, _test, _threshold, c, r) => {
    const drift = detectColumnDrift('col', prepare(c.kind, c.reference), prepare(c.kind, c.current), {
      stattest: r.stattest,
      threshold: r.threshold,
    });
    expect(drift.stattest).toBe(r.stattest);
    expect(drift.threshold).toBe(r.threshold);
    expectScore(r.stattest, drift.statistic, r.score);
    expect(drift.drifted).toBe(r.drifted);
  });

  it('covers every test, numerical and categorical, with default and overridden thresholds', () => {
    const seen = new Set(stattests.cases.flatMap((c) => c.results.map((r) => `${c.kind}:${r.stattest}`)));
    for (const t of ['ks', 'wasserstein', 'jensenshannon', 'psi']) expect(seen).toContain(`numerical:${t}`);
    for (const t of ['chisquare', 'z', 'jensenshannon', 'psi']) expect(seen).toContain(`categorical:${t}`);
    const overridden = stattests.cases.flatMap((c) => c.results.filter((r) => r.threshold !== defaultThreshold(r.stattest)));
    expect(overridden.length).toBeGreaterThanOrEqual(4);
  });

  it.each(stattests.cases.map((c) => [c.name, c] as const))('default choice: %s', (_name, c) => {
    const drift = detectColumnDrift('col', prepare(c.kind, c.reference), prepare(c.kind, c.current));
    expect(drift.stattest).toBe(c.default);
    expect(drift.threshold).toBe(defaultThreshold(c.default));
  });

  it.each(stattests.cases.map((c) => [c.name, c] as const))('binned shares: %s', (_name, c) => {
    const reference = prepare(c.kind, c.reference);
    const current = prepare(c.kind, c.current);
    for (const [fill, expected] of [
      [true, c.binned],
      [false, c.binnedNoFill],
    ] as const) {
      const got = binnedShares(reference, current, fill);
      expect(got.reference.length).toBe(expected.reference.length);
      const numericalBins = reference.kind === 'numerical' && reference.distinct > 20;
      // Sturges bins are ordered; per-value buckets come in set order in Evidently, so compare as pairs.
      const pairs = (r: ArrayLike<number>, k: ArrayLike<number>) => {
        const out = Array.from(r, (v, i) => [v, k[i] as number] as const);
        return numericalBins ? out : out.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      };
      const actualPairs = pairs(got.reference, got.current);
      const expectedPairs = pairs(expected.reference, expected.current);
      actualPairs.forEach(([r, k], i) => {
        expectClose(r, (expectedPairs[i] as readonly [number, number])[0], 1e-12, 0);
        expectClose(k, (expectedPairs[i] as readonly [number, number])[1], 1e-12, 0);
      });
    }
  });

  it('fills empty PSI buckets with min(non-zero) / 10^6 or 0.0001, per side', () => {
    const c = stattests.cases.find((x) => x.name.startsWith('numerical, current outside the reference range'));
    expect(c).toBeDefined();
    const got = binnedShares(prepare('numerical', c!.reference), prepare('numerical', c!.current), true);
    const raw = binnedShares(prepare('numerical', c!.reference), prepare('numerical', c!.current), false);
    for (const [filled, plain] of [
      [got.reference, raw.reference],
      [got.current, raw.current],
    ] as const) {
      const minNonZero = Math.min(...Array.from(plain).filter((v) => v !== 0));
      const fill = minNonZero <= 0.0001 ? minNonZero / 1e6 : 0.0001;
      expect(Array.from(plain).some((v) => v === 0)).toBe(true);
      plain.forEach((v, i) => expect(filled[i]).toBe(v === 0 ? fill : v));
    }
  });

  it('uses numpy Sturges edges: ceil(log2(n) + 1) bins over the combined range', () => {
    expect(Array.from(sturgesEdges(0, 10, 1024))).toEqual(Array.from({ length: 12 }, (_, i) => (i === 11 ? 10 : i * (10 / 11))));
    expect(sturgesEdges(2, 2, 100).length).toBe(2);
  });
});

// ------------------------------------------------------------------------------------------------------------
// Default selection

interface SelectionFixture {
  readonly cases: readonly { readonly name: string; readonly kind: ColumnKind; readonly reference: readonly RawValue[]; readonly current: readonly RawValue[]; readonly stattest: StatTestName }[];
}

describe("Evidently's default test choice", () => {
  const selection = load<SelectionFixture>('selection.json');
  it.each(selection.cases.map((c) => [c.name, c.stattest, c] as const))('%s -> %s', (_name, expected, c) => {
    const drift = detectColumnDrift('col', prepare(c.kind, c.reference), prepare(c.kind, c.current));
    expect(drift.stattest).toBe(expected);
  });

  it('switches at 1000 reference rows', () => {
    const at = selection.cases.filter((c) => c.name.includes(', 1000 reference rows'));
    const above = selection.cases.filter((c) => c.name.includes(', 1001 reference rows'));
    expect(at.map((c) => c.stattest)).toEqual(['ks', 'chisquare', 'chisquare', 'z', 'z', 'chisquare']);
    expect(above.map((c) => c.stattest)).toEqual(['wasserstein', 'jensenshannon', 'jensenshannon', 'jensenshannon', 'jensenshannon', 'jensenshannon']);
  });
});

// ------------------------------------------------------------------------------------------------------------
// Whole datasets through Evidently's DataDriftPreset

interface DatasetsFixture {
  readonly datasets: Record<
    string,
    {
      readonly kinds: Record<string, ColumnKind>;
      readonly reference: Record<string, readonly RawValue[]>;
      readonly current: Record<string, readonly RawValue[]>;
    }
  >;
  readonly runs: readonly {
    readonly name: string;
    readonly data: string;
    readonly options: {
      readonly driftShare?: number;
      readonly perColumnThreshold?: Record<string, number>;
      readonly perColumnMethod?: Record<string, StatTestName>;
    };
    readonly columns: readonly {
      readonly column: string;
      readonly kind: ColumnKind;
      readonly stattest: StatTestName;
      readonly threshold: number;
      readonly score: number | null;
      readonly drifted: boolean;
    }[];
    readonly dataset: { readonly count: number; readonly share: number; readonly drifted: boolean; readonly columnShare: number };
  }[];
}

describe('whole datasets against Evidently DataDriftPreset', () => {
  const fixture = load<DatasetsFixture>('datasets.json');
  it.each(fixture.runs.map((r) => [r.name, r] as const))('%s', (_name, run) => {
    const data = fixture.datasets[run.data]!;
    const columns = Object.keys(data.kinds).map((name) => {
      const kind = data.kinds[name]!;
      const reference = prepare(kind, data.reference[name]!);
      const current = prepare(kind, data.current[name]!);
      return detectColumnDrift(name, reference, current, {
        stattest: run.options.perColumnMethod?.[name] ?? 'auto',
        threshold: run.options.perColumnThreshold?.[name],
      });
    });
    expect(columns.map((c) => c.column)).toEqual(run.columns.map((c) => c.column));
    for (const expected of run.columns) {
      const got = columns.find((c) => c.column === expected.column)!;
      expect(got.kind).toBe(expected.kind);
      expect(got.stattest, expected.column).toBe(expected.stattest);
      expect(got.threshold, expected.column).toBe(expected.threshold);
      expectScore(expected.stattest, got.statistic, expected.score);
      expect(got.drifted, expected.column).toBe(expected.drifted);
    }
    const dataset = detectDatasetDrift(columns, run.options.driftShare);
    expect(dataset.columnShare).toBe(run.dataset.columnShare);
    expect(dataset.share).toBe(run.dataset.share);
    expect(dataset.driftedColumns).toHaveLength(run.dataset.count);
    expect(dataset.drifted).toBe(run.dataset.drifted);
  });

  it('includes a small and a large reference, missing values and a share exactly at 0.5', () => {
    const rows = (name: string) => Object.values(fixture.datasets[name]!.reference)[0]!.length;
    expect(rows('small')).toBeLessThanOrEqual(1000);
    expect(rows('large')).toBeGreaterThan(1000);
    expect(fixture.runs.some((r) => r.dataset.share === 0.5 && r.dataset.drifted)).toBe(true);
    expect(fixture.runs.some((r) => r.dataset.share === 0.5 && !r.dataset.drifted)).toBe(true);
    const missing = Object.values(fixture.datasets).flatMap((d) => Object.values(d.reference).flat());
    expect(missing).toContain(null);
    expect(missing).toContain('inf');
  });
});

// ------------------------------------------------------------------------------------------------------------
// API behaviour

const drift = (name: string, drifted: boolean): ColumnDrift => ({
  column: name,
  kind: 'numerical',
  stattest: 'ks',
  statistic: drifted ? 0.001 : 0.5,
  threshold: 0.05,
  drifted,
  referenceRows: 10,
  currentRows: 10,
});

describe('drift API', () => {
  it('names the six tests', () => {
    expect(STAT_TEST_NAMES).toEqual(['ks', 'chisquare', 'z', 'wasserstein', 'jensenshannon', 'psi']);
  });

  it("judges with Evidently's default thresholds and comparison operators", () => {
    expect(STAT_TEST_NAMES.map((t) => defaultThreshold(t))).toEqual([0.05, 0.05, 0.05, 0.1, 0.1, 0.1]);
    // At the threshold: ks uses <=, chisquare and z use <, the distances use >=.
    expect(isDrift('ks', 0.05, 0.05)).toBe(true);
    expect(isDrift('chisquare', 0.05, 0.05)).toBe(false);
    expect(isDrift('z', 0.05, 0.05)).toBe(false);
    expect(isDrift('wasserstein', 0.1, 0.1)).toBe(true);
    expect(isDrift('jensenshannon', 0.1, 0.1)).toBe(true);
    expect(isDrift('psi', 0.1, 0.1)).toBe(true);
    expect(isDrift('ks', 0.0500001, 0.05)).toBe(false);
    expect(isDrift('chisquare', 0.0499999, 0.05)).toBe(true);
    expect(isDrift('psi', 0.0999999, 0.1)).toBe(false);
    expect(isDrift('ks', Number.NaN, 0.05)).toBe(false);
  });

  it('decides dataset drift with share >= columnShare, at and around 0.5', () => {
    const columns = (drifted: number, total: number) => Array.from({ length: total }, (_, i) => drift(`c${i}`, i < drifted));
    expect(detectDatasetDrift(columns(2, 4))).toMatchObject({ drifted: true, share: 0.5, columnShare: 0.5, driftedColumns: ['c0', 'c1'] });
    expect(detectDatasetDrift(columns(1, 4))).toMatchObject({ drifted: false, share: 0.25 });
    expect(detectDatasetDrift(columns(49, 99)).drifted).toBe(false);
    expect(detectDatasetDrift(columns(50, 99)).drifted).toBe(true);
    expect(detectDatasetDrift(columns(50, 100)).drifted).toBe(true);
    expect(detectDatasetDrift(columns(49, 100)).drifted).toBe(false);
    expect(detectDatasetDrift(columns(3, 6), 0.6).drifted).toBe(false);
    expect(detectDatasetDrift(columns(3, 5), 0.6).drifted).toBe(true);
    expect(detectDatasetDrift(columns(0, 3), 0).drifted).toBe(true);
    expect(detectDatasetDrift([])).toMatchObject({ drifted: false, share: 0, driftedColumns: [] });
  });

  it('drops missing values: null, NaN and ±Infinity for numbers, null and empty strings for categories', () => {
    const numbers = prepareColumn({ kind: 'numerical', values: [1, Number.NaN, 2, Number.POSITIVE_INFINITY, null as unknown as number, Number.NEGATIVE_INFINITY, 3] });
    expect(numbers.rows).toBe(3);
    const categories = prepareColumn({ kind: 'categorical', values: ['a', '', 'b', null as unknown as string, 'a'] });
    expect(categories.rows).toBe(3);
    const clean = detectColumnDrift('n', prepareColumn({ kind: 'numerical', values: [1, 2, 3, 4, 5, 6] }), prepareColumn({ kind: 'numerical', values: [2, 3, 4, 5, 6, 7, 8] }));
    const dirty = detectColumnDrift(
      'n',
      prepareColumn({ kind: 'numerical', values: [1, Number.NaN, 2, 3, 4, Number.POSITIVE_INFINITY, 5, 6] }),
      prepareColumn({ kind: 'numerical', values: new Float64Array([2, 3, Number.NEGATIVE_INFINITY, 4, 5, 6, 7, 8, Number.NaN]) }),
    );
    expect(dirty).toEqual(clean);
    expect(dirty).toMatchObject({ referenceRows: 6, currentRows: 7 });
  });

  it('throws on an empty column, naming the column and the side', () => {
    const some = prepareColumn({ kind: 'numerical', values: [1, 2, 3] });
    const none = prepareColumn({ kind: 'numerical', values: [Number.NaN, Number.POSITIVE_INFINITY] });
    expect(() => detectColumnDrift('age', none, some)).toThrow(/age.*reference/);
    expect(() => detectColumnDrift('age', some, none)).toThrow(/age.*current/);
    const cats = prepareColumn({ kind: 'categorical', values: ['', ''] });
    expect(() => detectColumnDrift('city', prepareColumn({ kind: 'categorical', values: ['x'] }), cats)).toThrow(/city.*current/);
    expect(() => detectColumnDrift('mixed', some, prepareColumn({ kind: 'categorical', values: ['x'] }))).toThrow(/mixed/);
  });

  it("replaces a test the column kind does not admit with Evidently's default choice", () => {
    const refCat = prepareColumn({ kind: 'categorical', values: ['a', 'b', 'c', 'a', 'b', 'a'] });
    const curCat = prepareColumn({ kind: 'categorical', values: ['a', 'c', 'c', 'b'] });
    expect(detectColumnDrift('c', refCat, curCat, { stattest: 'ks' }).stattest).toBe('chisquare');
    expect(detectColumnDrift('c', refCat, curCat, { stattest: 'wasserstein' }).stattest).toBe('chisquare');
    expect(detectColumnDrift('c', refCat, curCat, { stattest: 'psi' }).stattest).toBe('psi');
    const refNum = prepareColumn({ kind: 'numerical', values: Array.from({ length: 50 }, (_, i) => i) });
    const curNum = prepareColumn({ kind: 'numerical', values: Array.from({ length: 40 }, (_, i) => i + 3) });
    expect(detectColumnDrift('n', refNum, curNum, { stattest: 'chisquare' }).stattest).toBe('ks');
    expect(detectColumnDrift('n', refNum, curNum, { stattest: 'z' }).stattest).toBe('ks');
    expect(detectColumnDrift('n', refNum, curNum, { stattest: 'auto' }).stattest).toBe('ks');
    // The threshold stays when the replacement is of the same family (p-value), not when it is a distance.
    expect(detectColumnDrift('c', refCat, curCat, { stattest: 'ks', threshold: 0.01 }).threshold).toBe(0.01);
    expect(detectColumnDrift('c', refCat, curCat, { stattest: 'wasserstein', threshold: 0.3 }).threshold).toBe(0.05);
  });

  it('applies a per-column threshold override to the verdict', () => {
    const reference = prepareColumn({ kind: 'numerical', values: Array.from({ length: 300 }, (_, i) => Math.sin(i) * 3) });
    const current = prepareColumn({ kind: 'numerical', values: Array.from({ length: 200 }, (_, i) => Math.sin(i * 1.3) * 3 + 0.4) });
    const byDefault = detectColumnDrift('x', reference, current);
    expect(byDefault.stattest).toBe('ks');
    const strict = detectColumnDrift('x', reference, current, { threshold: byDefault.statistic / 2 });
    const loose = detectColumnDrift('x', reference, current, { threshold: byDefault.statistic });
    expect(strict.statistic).toBe(byDefault.statistic);
    expect(strict.drifted).toBe(false);
    expect(loose.drifted).toBe(true);
  });

  it('reuses a prepared reference across windows without changing it', () => {
    const values = Array.from({ length: 2000 }, (_, i) => Math.cos(i * 0.7) + i / 2000);
    const reference = prepareColumn({ kind: 'numerical', values });
    const snapshot = Float64Array.from((reference as { sorted: Float64Array }).sorted);
    const windows = [0, 0.1, 0.3].map((shift) => prepareColumn({ kind: 'numerical', values: values.slice(0, 500).map((v) => v + shift) }));
    const first = windows.map((w) => detectColumnDrift('x', reference, w));
    const second = windows.map((w) => detectColumnDrift('x', reference, w));
    expect(second).toEqual(first);
    expect((reference as { sorted: Float64Array }).sorted).toEqual(snapshot);
    expect(first.map((d) => d.stattest)).toEqual(['wasserstein', 'wasserstein', 'wasserstein']);
  });
});

describe('sorting float64 columns', () => {
  it('orders like the native typed-array sort: negatives, -0 before +0, subnormals, huge values and ties', () => {
    let state = 7;
    const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
    const pick = (r: number) =>
      r < 0.1 ? 0 : r < 0.15 ? -0 : r < 0.3 ? Math.round(random() * 10) - 5 : r < 0.35 ? (random() - 0.5) * 1e-310 : r < 0.4 ? (random() - 0.5) * 1e300 : (random() - 0.5) * 100;
    for (const n of [10, 2047, 2048, 5000, 40_000]) {
      const values = Float64Array.from({ length: n }, () => pick(random()));
      const expected = values.slice().sort();
      const actual = values.slice();
      sortFloat64(actual);
      expect(Array.from(actual, (v) => (Object.is(v, -0) ? '-0' : v))).toEqual(Array.from(expected, (v) => (Object.is(v, -0) ? '-0' : v)));
    }
  });
});
