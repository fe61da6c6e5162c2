import type { ColumnDriftSummary, DriftColumnSpec, DriftPolicy, DriftSummary } from '../core/drift.js';
import { DatasetProblem } from './dataset-columns.js';
import {
  columnHistogram,
  detectColumnDrift,
  detectDatasetDrift,
  prepareColumn,
  type ColumnDrift,
  type ColumnValues,
  type DatasetDrift,
  type PreparedColumn,
  type StatTestName,
} from './drift/index.js';

/**
 * One window's drift report from the columns read out of the reference and the window's sample: each column
 * tested (Evidently's default tests, or the template's), with its histograms of reference against current,
 * and the dataset verdict. The monitor, the format tests and the benchmark all go through here.
 */

/** Every column made ready once (sorted, counted): a reference prepared this way serves many windows. */
export function prepareColumns(values: ReadonlyMap<string, ColumnValues>): Map<string, PreparedColumn> {
  return new Map([...values].map(([name, column]) => [name, prepareColumn(column)]));
}

export function compareColumns(
  reference: ReadonlyMap<string, PreparedColumn>,
  current: ReadonlyMap<string, ColumnValues>,
  columns: readonly DriftColumnSpec[],
  policy: DriftPolicy,
): DatasetDrift {
  const options = { stattest: policy.stattest as 'auto' | StatTestName, ...(policy.threshold !== undefined ? { threshold: policy.threshold } : {}) };
  const results = columns.map((c): ColumnDrift => {
    const ref = reference.get(c.name)!;
    const cur = prepareColumn(current.get(c.name)!);
    try {
      const drift = detectColumnDrift(c.name, ref, cur, options);
      return { ...drift, histogram: columnHistogram(ref, cur) };
    } catch (err) {
      throw new DatasetProblem(`column ${c.name}: ${(err as Error).message}`);
    }
  });
  return detectDatasetDrift(results, policy.columnShare);
}

/** How many columns a summary in history names; the stored report has them all. */
const COLUMNS_IN_SUMMARY = 100;

/** The summary history keeps of a drift report: drifted columns first, each group in schema order (p-values and distances do not rank against each other). */
export function driftSummary(dataset: DatasetDrift, referenceRows: number, currentRows: number): DriftSummary {
  const mostDrifted = [...dataset.columns].sort((a, b) => Number(b.drifted) - Number(a.drifted));
  return {
    drifted: dataset.drifted,
    share: dataset.share,
    columnShare: dataset.columnShare,
    columnsCompared: dataset.columns.length,
    driftedColumns: dataset.driftedColumns,
    columns: mostDrifted.slice(0, COLUMNS_IN_SUMMARY).map(({ column, stattest, statistic, threshold, drifted }): ColumnDriftSummary => ({ column, stattest, statistic, threshold, drifted })),
    referenceRows,
    currentRows,
  };
}
