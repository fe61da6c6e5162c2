/**
 * Per-feature histograms of reference against current for the drift report (what a person looks at next to
 * the verdict): counts over bin edges shared by both sides for numbers, the most frequent categories for
 * labels. Compact by construction: at most HISTOGRAM_BINS bins or HISTOGRAM_CATEGORIES categories per column,
 * whatever the data's size. Pure: computed from the prepared columns in O(bins log n) for a sorted column, one pass for a window that
 * was never sorted.
 */
import { columnCounts } from './binning.js';
import { valueCounts, type PreparedColumn, type PreparedNumericalColumn } from './column.js';

export const HISTOGRAM_BINS = 20;
export const HISTOGRAM_CATEGORIES = 20;

export type ColumnHistogram =
  | {
      readonly kind: 'numerical';
      /** bins + 1 ascending edges over both sides' range; bins are left-closed, the last one closed. */
      readonly edges: readonly number[];
      readonly reference: readonly number[];
      readonly current: readonly number[];
    }
  | {
      readonly kind: 'categorical';
      /** The most frequent categories over both sides together, most frequent first (ties: first seen). */
      readonly categories: readonly string[];
      readonly reference: readonly number[];
      readonly current: readonly number[];
      /** Rows in categories beyond the listed ones, per side. */
      readonly otherReference: number;
      readonly otherCurrent: number;
    };

/** Equal-width edges over [min, max] of both sides: Sturges' count capped at HISTOGRAM_BINS (one bin for a constant). */
function numericalHistogram(reference: PreparedNumericalColumn, current: PreparedNumericalColumn): ColumnHistogram {
  const min = Math.min(reference.min, current.min);
  const max = Math.max(reference.max, current.max);
  const bins = min === max ? 1 : Math.min(HISTOGRAM_BINS, Math.ceil(Math.log2(reference.rows + current.rows) + 1));
  const edges = new Float64Array(bins + 1);
  for (let i = 0; i < bins; i++) edges[i] = min + (i * (max - min)) / bins;
  edges[bins] = max;
  if (min === max) {
    edges[0] = min - 0.5;
    edges[1] = max + 0.5;
  }
  return {
    kind: 'numerical',
    edges: Array.from(edges),
    reference: Array.from(columnCounts(reference, edges)),
    current: Array.from(columnCounts(current, edges)),
  };
}

function categoricalHistogram(reference: PreparedColumn, current: PreparedColumn): ColumnHistogram {
  const ref = valueCounts(reference);
  const cur = valueCounts(current);
  const keys = [...new Set([...ref.keys(), ...cur.keys()])];
  const total = (k: string | number) => (ref.get(k) ?? 0) + (cur.get(k) ?? 0);
  // Array.prototype.sort is stable: equal totals keep first-seen order.
  const top = keys.map((k) => [k, total(k)] as const).sort((a, b) => b[1] - a[1]).slice(0, HISTOGRAM_CATEGORIES).map(([k]) => k);
  const referenceCounts = top.map((k) => ref.get(k) ?? 0);
  const currentCounts = top.map((k) => cur.get(k) ?? 0);
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    kind: 'categorical',
    categories: top.map(String),
    reference: referenceCounts,
    current: currentCounts,
    otherReference: reference.rows - sum(referenceCounts),
    otherCurrent: current.rows - sum(currentCounts),
  };
}

/** Reference and current histograms of one column (both sides non-empty, of the same kind). */
export function columnHistogram(reference: PreparedColumn, current: PreparedColumn): ColumnHistogram {
  if (reference.kind === 'numerical' && current.kind === 'numerical') return numericalHistogram(reference, current);
  return categoricalHistogram(reference, current);
}
