import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import type { CatalogDb } from '../catalog/db.js';
import type { DatasetSample, DriftColumnSpec, DriftPolicy, DriftSummary } from '../core/drift.js';
import type { PerformancePolicy, PerformanceVerdict, PredictionDriftPolicy, PredictionDriftSummary } from '../core/live-monitoring.js';
import type { DatasetRef } from '../core/manifest.js';
import type { ReportRef } from '../core/reports.js';
import type { ContentStore } from '../evidence/content-store.js';
import { DatasetProblem, loadDataset } from './datasets.js';
import { compareColumns, driftSummary, prepareColumns } from './drift-report.js';
import { detectColumnDrift, prepareColumn, type ColumnValues, type StatTestName } from './drift/index.js';
import { classificationMetrics, regressionMetrics } from './evaluation/metrics.js';
import { fairnessMetrics } from './evaluation/fairness.js';
import { activityReadControl, datasetReads, type ReadSettings } from './read-uri.js';

/**
 * Live monitoring on the scoring gateway's records: feature and prediction drift of one closed window (its
 * sample of inputs, every request's outputs) and performance once ground-truth labels are joined to its
 * requests by id.
 */

/** A tensor as the gateway's request log keeps it: its first values only. */
interface LoggedTensor {
  readonly name: string;
  readonly data: readonly unknown[];
}
interface LoggedExchange {
  readonly requestId: string;
  readonly inputs: readonly LoggedTensor[];
  readonly outputs: readonly LoggedTensor[];
}


export interface WindowDriftRequest {
  readonly modelVersionId: string;
  readonly window: string;
  readonly reference: DatasetRef;
  /** Feature drift on the window's sample of inputs; null when the template does not watch it. */
  readonly features: { readonly columns: readonly DriftColumnSpec[]; readonly policy: DriftPolicy } | null;
  readonly prediction: PredictionDriftPolicy | null;
}

export type Compared<T> = T | { readonly problem: string } | null;

export interface WindowDriftResult {
  /** The sample the features are compared on: the window's logged exchanges, pinned by their digest. */
  readonly sample: DatasetSample;
  readonly features: Compared<{ readonly summary: DriftSummary; readonly report: ReportRef }>;
  readonly prediction: Compared<PredictionDriftSummary>;
}

export interface WindowLabelsRequest {
  readonly modelVersionId: string;
  readonly window: string;
  /** The lifecycle's number for this evaluation: a retried activity finds the result it wrote. */
  readonly evaluation: number;
  readonly performance: PerformancePolicy;
  readonly protectedAttributes: readonly string[];
}

export type MeasuredPerformance = Pick<PerformanceVerdict, 'labelled' | 'metrics' | 'fairness'>;

export interface WindowLabelsResult extends MeasuredPerformance {
  /** The window's performance before these labels, when it had been measured already. */
  readonly previous: MeasuredPerformance | null;
  /** Labels that could not be paired (a non-binary label for a classifier, no such output). */
  readonly skipped: number;
}

const numbersOf = (t: LoggedTensor | undefined): number[] => (t ? t.data.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)) : []);
const valueOrNull = (x: number) => (Number.isFinite(x) ? x : null);
const nulled = (m: object): Record<string, number | null> => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, valueOrNull(v as number)]));

/** The window's sampled inputs as drift columns (a request that scored a batch gives a value per row). */
export function sampleColumns(sample: readonly LoggedExchange[], columns: readonly DriftColumnSpec[]): Map<string, ColumnValues> {
  const out = new Map<string, ColumnValues>();
  for (const c of columns) {
    const values = sample.flatMap((e) => e.inputs.find((t) => t.name === c.name)?.data ?? []);
    out.set(
      c.name,
      c.kind === 'numerical'
        ? { kind: 'numerical', values: values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)) }
        : { kind: 'categorical', values: values.filter((v) => v !== null && v !== undefined).map(String) },
    );
  }
  return out;
}

/** Pairs each labelled request's output with its label: one label per row the request scored. */
export function labelledPairs(rows: readonly { outputs: unknown; label: unknown }[], output: string): { labels: number[]; values: number[]; rowOf: number[]; skipped: number } {
  const labels: number[] = [];
  const values: number[] = [];
  const rowOf: number[] = [];
  let skipped = 0;
  rows.forEach((row, i) => {
    const scores = numbersOf((row.outputs as LoggedTensor[]).find((t) => t.name === output));
    const given = Array.isArray(row.label) ? (row.label as number[]) : [row.label as number];
    given.forEach((label, j) => {
      if (j >= scores.length) return void (skipped += 1);
      labels.push(label);
      values.push(scores[j]!);
      rowOf.push(i);
    });
  });
  return { labels, values, rowOf, skipped };
}

export function liveMonitoringActivities(db: CatalogDb, store: ContentStore, reading: ReadSettings) {
  return {
    /**
     * Feature drift of a gateway window's sampled inputs against the reference dataset, and prediction drift of
     * its requests' outputs against the evaluation predictions in the reference's column. A window the request
     * log has not written yet is retried; a data problem is reported, not retried.
     */
    async detectWindowDrift(request: WindowDriftRequest): Promise<WindowDriftResult> {
      const window = await db.selectFrom('gateway_windows').select(['sample']).where('id', '=', request.window).executeTakeFirst();
      if (!window) throw ApplicationFailure.retryable(`window ${request.window} is not in the request log yet`, 'WindowNotRecorded');
      const reads = { ...datasetReads(reading), ...activityReadControl() };
      const exchanges = window.sample as LoggedExchange[];
      const sample: DatasetSample = { uri: `gateway-window:${request.window}`, sha256: createHash('sha256').update(JSON.stringify(exchanges)).digest('hex') };
      const features = request.features ? await featureDrift(request, request.features, exchanges, sample, reads) : null;
      const prediction = request.prediction ? await predictionDrift(request, request.prediction, reads) : null;
      return { sample, features, prediction };
    },
  };

  async function featureDrift(
    request: WindowDriftRequest,
    { columns, policy }: NonNullable<WindowDriftRequest['features']>,
    sample: readonly LoggedExchange[],
    pinned: DatasetSample,
    reads: Parameters<typeof loadDataset>[3],
  ): Promise<WindowDriftResult['features']> {
    try {
      // A feature callers do not send (or send only as something other than an input tensor) is not compared.
      const current = sampleColumns(sample, columns);
      const compared = columns.filter((c) => current.get(c.name)!.values.length > 0);
      if (compared.length === 0) return { problem: `the window's sample holds none of the input fields (${columns.map((c) => c.name).join(', ')})` };
      const reference = await loadDataset(request.reference.uri, compared, request.reference.sha256, reads);
      const dataset = compareColumns(prepareColumns(reference.columns), current, compared, policy);
      const summary = driftSummary(dataset, reference.rows, Math.max(0, ...[...current.values()].map((c) => c.values.length)));
      const digest = await store.put({
        kind: 'drift',
        modelVersionId: request.modelVersionId,
        window: request.window,
        reference: { uri: request.reference.uri, sha256: reference.sha256, rows: reference.rows },
        sample: { ...pinned, rows: summary.currentRows, exchanges: sample.length },
        notInSample: columns.filter((c) => !compared.includes(c)).map((c) => c.name),
        policy,
        ...dataset,
      });
      const { drifted, share, columnsCompared, driftedColumns } = summary;
      return { summary, report: { kind: 'drift', digest, summary: { drifted, share, columnsCompared, driftedColumns: driftedColumns.length } } };
    } catch (err) {
      return { problem: problemOf(err) };
    }
  }

  async function predictionDrift(request: WindowDriftRequest, policy: PredictionDriftPolicy, reads: Parameters<typeof loadDataset>[3]): Promise<WindowDriftResult['prediction']> {
    try {
      const rows = await db.selectFrom('gateway_requests').select(['outputs']).where('window_id', '=', request.window).where('model_version_id', '=', request.modelVersionId).execute();
      const current = rows.flatMap((r) => numbersOf((r.outputs as LoggedTensor[]).find((t) => t.name === policy.output)));
      if (current.length === 0) return { problem: `no request of window ${request.window} has an output named ${policy.output}` };
      const reference = await loadDataset(request.reference.uri, [{ name: policy.column, kind: 'numerical' }], request.reference.sha256, reads);
      const options = { stattest: policy.stattest as 'auto' | StatTestName, ...(policy.threshold !== undefined ? { threshold: policy.threshold } : {}) };
      const drift = detectColumnDrift(policy.output, prepareColumn(reference.columns.get(policy.column)!), prepareColumn({ kind: 'numerical', values: current }), options);
      const { column, stattest, statistic, threshold, drifted } = drift;
      return { column, stattest, statistic, threshold, drifted, referenceRows: reference.rows, currentRows: current.length };
    } catch (err) {
      return { problem: problemOf(err) };
    }
  }
}

/** A data problem is the answer (recorded as such); anything else is retried by Temporal. */
function problemOf(err: unknown): string {
  if (err instanceof DatasetProblem || (err instanceof Error && err.name === 'DatasetProblem')) return err.message;
  if (err instanceof ApplicationFailure && err.nonRetryable) return err.message;
  throw err;
}

/** Performance of a window on its labelled requests: on the lifecycle's task queue, catalog reads only. */
export function labelActivities(db: CatalogDb) {
  return {
    async evaluateWindowLabels(request: WindowLabelsRequest): Promise<WindowLabelsResult> {
      const existing = await db.selectFrom('window_performance').selectAll().where('window_id', '=', request.window).executeTakeFirst();
      if (existing && existing.evaluation === request.evaluation) {
        // A retry of an evaluation that already wrote its result: answer the same.
        return { ...measuredOf(existing), previous: (existing.previous as MeasuredPerformance | null) ?? null, skipped: 0 };
      }
      const rows = await db
        .selectFrom('gateway_requests as r')
        .innerJoin('request_labels as l', (j) => j.onRef('l.model_version_id', '=', 'r.model_version_id').onRef('l.request_id', '=', 'r.request_id'))
        .select(['r.outputs', 'l.label', 'l.groups'])
        .where('r.window_id', '=', request.window)
        .where('r.model_version_id', '=', request.modelVersionId)
        .execute();
      const measured = measure(rows, request.performance, request.protectedAttributes);
      const previous = existing ? measuredOf(existing) : null;
      const row = {
        window_id: request.window,
        model_version_id: request.modelVersionId,
        evaluation: request.evaluation,
        labelled: measured.labelled,
        metrics: JSON.stringify(measured.metrics),
        fairness: JSON.stringify(measured.fairness),
        previous: previous ? JSON.stringify(previous) : null,
        computed_at: new Date(),
      };
      await db
        .insertInto('window_performance')
        .values(row)
        .onConflict((oc) => oc.column('window_id').doUpdateSet({ ...row }))
        .execute();
      return { labelled: measured.labelled, metrics: measured.metrics, fairness: measured.fairness, previous, skipped: measured.skipped };
    },
  };
}

function measuredOf(row: { labelled: number; metrics: unknown; fairness: unknown }): MeasuredPerformance {
  return { labelled: row.labelled, metrics: row.metrics as MeasuredPerformance['metrics'], fairness: row.fairness as MeasuredPerformance['fairness'] };
}

/** The task's metrics (the test gate's definitions) and, for a classifier, fairness per protected attribute. */
export function measure(
  rows: readonly { outputs: unknown; label: unknown; groups: unknown }[],
  policy: PerformancePolicy,
  protectedAttributes: readonly string[],
): MeasuredPerformance & { skipped: number } {
  const paired = labelledPairs(rows, policy.output);
  let { labels, values, rowOf, skipped } = paired;
  if (policy.task === 'classification') {
    const keep = labels.map((y) => y === 0 || y === 1);
    skipped += keep.filter((k) => !k).length;
    labels = labels.filter((_, i) => keep[i]);
    values = values.filter((_, i) => keep[i]);
    rowOf = rowOf.filter((_, i) => keep[i]);
  }
  if (labels.length === 0) return { labelled: 0, metrics: {}, fairness: {}, skipped };
  if (policy.task === 'regression') return { labelled: labels.length, metrics: nulled(regressionMetrics(labels, values)), fairness: {}, skipped };
  const metrics = nulled(classificationMetrics(labels, values, { threshold: policy.threshold }));
  const predicted = values.map((s) => (s >= policy.threshold ? 1 : 0));
  const fairness: Record<string, Record<string, number | null>> = {};
  for (const attribute of protectedAttributes) {
    const idx = rowOf.map((r, i) => ({ i, group: (rows[r]!.groups as Record<string, string>)[attribute] })).filter((x) => x.group !== undefined);
    if (new Set(idx.map((x) => x.group)).size < 2) continue;
    fairness[attribute] = nulled(
      fairnessMetrics(
        idx.map((x) => labels[x.i]!),
        idx.map((x) => predicted[x.i]!),
        idx.map((x) => x.group!),
      ),
    );
  }
  return { labelled: labels.length, metrics, fairness, skipped };
}
