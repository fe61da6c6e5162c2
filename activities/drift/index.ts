/**
 * Data drift statistics for the monitor: per-column tests and the dataset verdict, matching Evidently's
 * default data-drift behaviour (DataDriftPreset) and scipy's numerics. Pure: no I/O, no Node built-ins.
 *
 * Verdicts, with Evidently's default thresholds and comparisons:
 *   ks           p-value  <= 0.05      chisquare  p-value < 0.05      z  p-value < 0.05
 *   wasserstein  distance >= 0.1       jensenshannon  distance >= 0.1   psi  distance >= 0.1
 * The dataset drifts when the share of drifted columns is >= columnShare (default 0.5).
 */
import type { ColumnKind, PreparedColumn } from './column.js';
import type { ColumnHistogram } from './histogram.js';
import { admits, defaultStatTest, type StatTestName } from './select.js';

export { admits } from './select.js';
import { chiSquareTest, jensenShannonTest, ksTest, psiTest, wassersteinTest, zTest } from './stattests.js';

export { prepareColumn, prepareReferenceColumn } from './column.js';
export { columnHistogram, HISTOGRAM_BINS, HISTOGRAM_CATEGORIES, type ColumnHistogram } from './histogram.js';
export type { ColumnKind, ColumnValues, PreparedCategoricalColumn, PreparedColumn, PreparedNumericalColumn } from './column.js';
export { STAT_TEST_NAMES, type StatTestName } from './select.js';

export interface ColumnDrift {
  readonly column: string;
  readonly kind: ColumnKind;
  readonly stattest: StatTestName;
  /** p-value for ks/chisquare/z, distance for wasserstein/jensenshannon/psi (Evidently's drift_score). */
  readonly statistic: number;
  readonly threshold: number;
  readonly drifted: boolean;
  readonly referenceRows: number;
  readonly currentRows: number;
  /** Reference against current on shared bins (the report carries it; history's summary does not). */
  readonly histogram?: ColumnHistogram;
}

export interface DatasetDrift {
  readonly drifted: boolean;
  /** Share of columns that drifted. */
  readonly share: number;
  /** The share at which the dataset counts as drifted (Evidently default 0.5). */
  readonly columnShare: number;
  readonly driftedColumns: readonly string[];
  readonly columns: readonly ColumnDrift[];
}

const P_VALUE_TESTS: ReadonlySet<StatTestName> = new Set(['ks', 'chisquare', 'z']);

/** Is the statistic a p-value (small means drift) rather than a distance (large means drift)? */
export function isPValueTest(stattest: StatTestName): boolean {
  return P_VALUE_TESTS.has(stattest);
}

export function defaultThreshold(stattest: StatTestName): number {
  return isPValueTest(stattest) ? 0.05 : 0.1;
}

/** Is the drift verdict for this statistic under this test and threshold (for re-judging recorded statistics)? */
export function isDrift(stattest: StatTestName, statistic: number, threshold: number): boolean {
  switch (stattest) {
    case 'ks':
      return statistic <= threshold;
    case 'chisquare':
    case 'z':
      return statistic < threshold;
    case 'wasserstein':
    case 'jensenshannon':
    case 'psi':
      return statistic >= threshold;
  }
}

function runTest(stattest: StatTestName, reference: PreparedColumn, current: PreparedColumn): number {
  switch (stattest) {
    case 'chisquare':
      return chiSquareTest(reference, current);
    case 'z':
      return zTest(reference, current);
    case 'jensenshannon':
      return jensenShannonTest(reference, current);
    case 'psi':
      return psiTest(reference, current);
    case 'ks':
    case 'wasserstein':
      if (reference.kind !== 'numerical' || current.kind !== 'numerical') {
        throw new Error(`${stattest} needs numerical columns`);
      }
      return stattest === 'ks' ? ksTest(reference, current) : wassersteinTest(reference, current);
  }
}

/**
 * The test and threshold that run on a column of `kind` when a template asks for `requested`: the requested
 * test if the kind admits it, else the column's default test. A given threshold is kept when the test that
 * runs is of the same family (p-value or distance) as the one asked for, else that test's default applies.
 * Shared by the drift computation and the policy preview, which re-judges recorded statistics.
 */
export function resolveStatTest(
  requested: 'auto' | StatTestName,
  threshold: number | undefined,
  kind: ColumnKind,
  defaultTest: () => StatTestName,
): { readonly stattest: StatTestName; readonly threshold: number } {
  const stattest = requested !== 'auto' && admits(requested, kind) ? requested : defaultTest();
  const keep = threshold !== undefined && (requested === 'auto' || isPValueTest(requested) === isPValueTest(stattest));
  return { stattest, threshold: keep ? threshold : defaultThreshold(stattest) };
}

/**
 * Test one column for drift. `stattest` 'auto' (the default) takes Evidently's default choice; a test the
 * column kind does not admit in Evidently's registry (ks or wasserstein on a categorical column, chisquare
 * or z on a numerical one) is replaced by the default choice, reported in `stattest`. A given threshold is
 * kept when the test that runs is of the same family (p-value or distance) as the one asked for, otherwise
 * the default threshold of the test that runs applies.
 */
export function detectColumnDrift(
  column: string,
  reference: PreparedColumn,
  current: PreparedColumn,
  options?: { readonly stattest?: 'auto' | StatTestName; readonly threshold?: number },
): ColumnDrift {
  if (reference.kind !== current.kind) {
    throw new Error(`Column '${column}': reference is ${reference.kind} but current is ${current.kind}`);
  }
  if (reference.rows === 0) {
    throw new Error(`Column '${column}': the reference column is empty after dropping missing values`);
  }
  if (current.rows === 0) {
    throw new Error(`Column '${column}': the current column is empty after dropping missing values`);
  }
  const { stattest, threshold } = resolveStatTest(options?.stattest ?? 'auto', options?.threshold, reference.kind, () => defaultStatTest(reference, current));
  const statistic = runTest(stattest, reference, current);
  return {
    column,
    kind: reference.kind,
    stattest,
    statistic,
    threshold,
    drifted: isDrift(stattest, statistic, threshold),
    referenceRows: reference.rows,
    currentRows: current.rows,
  };
}

/** Evidently's dataset verdict: drifted when drifted columns / all columns >= columnShare. No columns: no drift. */
export function detectDatasetDrift(columns: readonly ColumnDrift[], columnShare = 0.5): DatasetDrift {
  const driftedColumns = columns.filter((c) => c.drifted).map((c) => c.column);
  const share = columns.length === 0 ? 0 : driftedColumns.length / columns.length;
  return {
    drifted: columns.length > 0 && share >= columnShare,
    share,
    columnShare,
    driftedColumns,
    columns,
  };
}
