import type { DatasetRef, ModelManifest } from './manifest.js';

/**
 * Feature drift as the lifecycle and its history see it: which columns are compared, against what, and the
 * small verdict that goes into history. The statistics themselves live with the activity that computes them.
 */

/** The drift tests a template can name (Evidently's names); `auto` picks Evidently's default per column. */
export const STAT_TEST_NAMES = ['ks', 'chisquare', 'z', 'wasserstein', 'jensenshannon', 'psi'] as const;
export type StatTestName = (typeof STAT_TEST_NAMES)[number];

/** A file of live feature values the serving side logged in one window; the digest pins its bytes. */
export interface DatasetSample {
  readonly uri: string;
  readonly sha256: string;
}

export type DriftColumnKind = 'numerical' | 'categorical';

export interface DriftColumnSpec {
  readonly name: string;
  readonly kind: DriftColumnKind;
}

/** The template's drift settings (see `stage.monitor({ drift })`). */
export interface DriftPolicy {
  readonly stattest: 'auto' | StatTestName;
  readonly threshold?: number;
  readonly columnShare: number;
}

/** One column's verdict as history records it (Evidently's drift_score is `statistic`). */
export interface ColumnDriftSummary {
  readonly column: string;
  readonly stattest: StatTestName;
  readonly statistic: number;
  readonly threshold: number;
  readonly drifted: boolean;
}

export interface DriftSummary {
  readonly drifted: boolean;
  /** Share of compared columns that drifted. */
  readonly share: number;
  readonly columnShare: number;
  readonly columnsCompared: number;
  readonly driftedColumns: readonly string[];
  /** Per-column verdicts, most drifted first; capped for very wide data (the full list is in the report). */
  readonly columns: readonly ColumnDriftSummary[];
  readonly referenceRows: number;
  readonly currentRows: number;
}

export interface DriftRequest {
  readonly modelVersionId: string;
  readonly window: string;
  readonly reference: DatasetRef;
  readonly sample: DatasetSample;
  readonly columns: readonly DriftColumnSpec[];
  readonly policy: DriftPolicy;
}

/**
 * The input fields drift is computed on: numbers are numerical, strings, categories and booleans categorical
 * (as Evidently treats them); datetimes are not compared.
 */
export function driftColumns(inputSchema: ModelManifest['inputSchema']): DriftColumnSpec[] {
  return inputSchema.flatMap((f): DriftColumnSpec[] => {
    if (f.type === 'datetime') return [];
    return [{ name: f.name, kind: f.type === 'number' || f.type === 'integer' ? 'numerical' : 'categorical' }];
  });
}

/** Why a lifecycle does not watch feature drift, or null when it does. */
export function driftUnwatchedReason(manifest: ModelManifest, policy: DriftPolicy | null, template: string): string | null {
  if (policy === null) return `template ${template} has no drift policy`;
  if (!manifest.referenceDataset) return 'the manifest has no referenceDataset to compare against';
  if (driftColumns(manifest.inputSchema).length === 0) return 'the manifest has no input fields drift can compare';
  return null;
}
