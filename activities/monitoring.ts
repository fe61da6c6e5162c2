import { ApplicationFailure } from '@temporalio/activity';
import type { DriftColumnSpec, DriftRequest, DriftSummary } from '../core/drift.js';
import type { DatasetRef } from '../core/manifest.js';
import type { ReportRef } from '../core/reports.js';
import type { ContentStore } from '../evidence/content-store.js';
import { DatasetProblem, loadDataset } from './datasets.js';
import { activityReadControl, datasetReads, type ReadOptions, type ReadSettings } from './read-uri.js';
import { compareColumns, driftSummary, prepareColumns } from './drift-report.js';
import type { PreparedColumn } from './drift/index.js';

/** History carries at most this many per-column verdicts (drifted ones first); the report has them all. */
/** Prepared references kept in memory: one per model version being watched by this worker, roughly. */
const REFERENCES_CACHED = 8;

interface PreparedReference {
  readonly sha256: string;
  readonly rows: number;
  readonly columns: ReadonlyMap<string, PreparedColumn>;
}

/**
 * Reference datasets prepared once (sorted, counted) and reused for every window of a model version. Only
 * references pinned by a digest are cached: an unpinned file may change, so it is read every time.
 */
class ReferenceCache {
  private readonly entries = new Map<string, Promise<PreparedReference>>();

  get(ref: DatasetRef, columns: readonly DriftColumnSpec[], options: ReadOptions): Promise<PreparedReference> {
    if (!ref.sha256) return prepareReference(ref, columns, options);
    const key = `${ref.sha256} ${columns.map((c) => `${c.name}:${c.kind}`).join(',')}`;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = prepareReference(ref, columns, options);
      entry.catch(() => this.entries.delete(key));
      this.entries.set(key, entry);
      if (this.entries.size > REFERENCES_CACHED) this.entries.delete(this.entries.keys().next().value!);
    }
    return entry;
  }
}

async function prepareReference(ref: DatasetRef, columns: readonly DriftColumnSpec[], options: ReadOptions): Promise<PreparedReference> {
  const data = await loadDataset(ref.uri, columns, ref.sha256, options);
  return { sha256: data.sha256, rows: data.rows, columns: prepareColumns(data.columns) };
}

/**
 * Data problems fail the activity for good (the lifecycle records them), as do refused locations
 * (UriNotAllowed) and oversized files (ArtifactTooLarge), which arrive as non-retryable failures already;
 * anything else is retried.
 */
function asFailure(err: unknown): unknown {
  if (err instanceof DatasetProblem) return ApplicationFailure.nonRetryable(err.message, 'DatasetProblem');
  return err;
}

export function monitoringActivities(store: ContentStore, reading: ReadSettings) {
  const references = new ReferenceCache();
  return {
    /**
     * Compares one window's sample of live inputs with the model's reference dataset, column by column with
     * Evidently's default tests (or the template's), and files the full report in the content store.
     */
    async detectDrift(request: DriftRequest): Promise<{ summary: DriftSummary; report: ReportRef }> {
      const { policy, columns } = request;
      try {
        const reads = { ...datasetReads(reading), ...activityReadControl() };
        const [reference, sample] = await Promise.all([
          references.get(request.reference, columns, reads),
          loadDataset(request.sample.uri, columns, request.sample.sha256, reads),
        ]);
        const dataset = compareColumns(reference.columns, sample.columns, columns, policy);
        const summary = driftSummary(dataset, reference.rows, sample.rows);
        const digest = await store.put({
          kind: 'drift',
          modelVersionId: request.modelVersionId,
          window: request.window,
          reference: { uri: request.reference.uri, sha256: reference.sha256, rows: reference.rows },
          sample: { ...request.sample, rows: sample.rows },
          policy,
          ...dataset,
        });
        const { drifted, share, columnsCompared, driftedColumns } = summary;
        return { summary, report: { kind: 'drift', digest, summary: { drifted, share, columnsCompared, driftedColumns: driftedColumns.length } } };
      } catch (err) {
        throw asFailure(err);
      }
    },
  };
}
