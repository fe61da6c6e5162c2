import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import { z } from 'zod';
import type { CatalogDb } from '../../catalog/db.js';
import { modelVersionId } from '../../core/model-id.js';
import { labelsSignal } from '../../workflows/messages.js';
import { anyRole, authorize, isRole, principalOf } from '../auth.js';
import { ApiError } from '../errors.js';
import type { RouteDeps } from '../server.js';
import { modelIdParams, queryText } from './params.js';

/** Labels one request may carry; each is a row of the same insert. */
const MAX_LABELS = 5000;
/** Windows named in one labels signal, so a huge batch never makes a signal near the payload limit. */
const WINDOWS_PER_SIGNAL = 500;

const label = z.union([
  z.number().finite(),
  z.boolean().transform((b) => (b ? 1 : 0)),
  z.array(z.number().finite()).min(1).max(16, 'at most 16 labels: the request log keeps the first 16 outputs of a request'),
]);

const labelsBody = z.strictObject({
  labels: z
    .array(
      z.strictObject({
        /** The id the scoring request carried (or the one the gateway answered with). */
        requestId: queryText().max(200),
        /** The ground truth: 0/1 (or true/false) for a classifier, a number for a regressor; one per row of a batch. */
        label,
        /** Protected attribute → this request's group, for fairness on live windows. */
        groups: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/, 'must be an attribute name'), queryText().max(200)).optional(),
      }),
    )
    .min(1, 'at least one label is required')
    .max(MAX_LABELS, `at most ${MAX_LABELS} labels per request; send more in batches`)
    .superRefine((labels, ctx) => {
      const seen = new Map<string, number>();
      labels.forEach((l, i) => {
        const first = seen.get(l.requestId);
        if (first !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'requestId'], message: `repeats labels.${first}.requestId (one label per request)` });
        else seen.set(l.requestId, i);
      });
    }),
});

const windowParams = modelIdParams.extend({ window: queryText().max(300) });
const windowsQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });

/** Steps recorded about a window, newest last. */
const WINDOW_STEPS = ['observation', 'drift', 'prediction-drift', 'performance', 'alert'] as const;

/**
 * Live monitoring: ground-truth labels joined to the gateway's requests by id (late, in batches, idempotent per
 * request id), and per-window reports (the gateway's observation, every verdict recorded about the window, its
 * performance, and its drift report with each feature's reference and current distributions).
 */
export const monitoringRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, authenticate, lifecycles, evidence }) => {
  const labeller = authorize(authenticate, isRole('engineer', 'scorer', 'admin'), 'engineer, scorer or admin');
  const reader = authorize(authenticate, anyRole, 'any role');

  app.post('/models/:id/labels', { schema: { params: modelIdParams, body: labelsBody }, onRequest: labeller }, async (request, reply) => {
    const ref = request.params.id;
    const id = modelVersionId(ref);
    // 404 for an unknown version, 409 for an ended lifecycle: nothing is stored either way.
    await lifecycles.requireRunning(ref);
    const by = principalOf(request).id;
    const { labels } = request.body;
    const now = new Date();
    const changed = await db
      .insertInto('request_labels')
      .values(labels.map((l) => ({ model_version_id: id, request_id: l.requestId, label: JSON.stringify(l.label), groups: JSON.stringify(l.groups ?? {}), labelled_by: by, received_at: now })))
      .onConflict((oc) =>
        oc
          .columns(['model_version_id', 'request_id'])
          .doUpdateSet((eb) => ({ label: eb.ref('excluded.label'), groups: eb.ref('excluded.groups'), labelled_by: eb.ref('excluded.labelled_by'), received_at: eb.ref('excluded.received_at') }))
          // The same label again changes nothing: a retried batch is the same batch.
          .where(sql<boolean>`(request_labels.label, request_labels.groups) is distinct from (excluded.label, excluded.groups)`),
      )
      .returning('request_id')
      .execute();
    const ids = labels.map((l) => l.requestId);
    const matched = await db.selectFrom('gateway_requests').select('request_id').distinct().where('model_version_id', '=', id).where('request_id', 'in', ids).execute();
    const known = new Set(matched.map((r) => r.request_id));
    const unmatched = ids.filter((r) => !known.has(r));
    const windows = await windowsDue(db, id, ids);
    for (let i = 0; i < windows.length; i += WINDOWS_PER_SIGNAL) {
      await lifecycles.handle(ref).signal(labelsSignal, { windows: windows.slice(i, i + WINDOWS_PER_SIGNAL) });
    }
    return reply.status(202).send({
      modelVersionId: id,
      received: labels.length,
      changed: changed.length,
      unchanged: labels.length - changed.length,
      // Stored all the same: a request the gateway has not logged yet is joined when its labels are sent again.
      unmatched: unmatched.slice(0, 100),
      unmatchedCount: unmatched.length,
      windows,
    });
  });

  app.get('/models/:id/windows', { schema: { params: modelIdParams, querystring: windowsQuery }, onRequest: reader }, async (request) => {
    const id = modelVersionId(request.params.id);
    await requireVersion(db, id);
    const rows = await db.selectFrom('gateway_windows').selectAll().where('model_version_id', '=', id).orderBy('window_start', 'desc').limit(request.query.limit).execute();
    const verdicts = await verdictsOf(db, id, rows.map((r) => r.id));
    const performance = await performanceOf(db, rows.map((r) => r.id));
    return { modelVersionId: id, windows: rows.map((w) => windowSummary(w, verdicts.get(w.id) ?? [], performance.get(w.id) ?? null)) };
  });

  app.get('/models/:id/windows/:window', { schema: { params: windowParams }, onRequest: reader }, async (request) => {
    const id = modelVersionId(request.params.id);
    const windowId = request.params.window;
    await requireVersion(db, id);
    const row = await db.selectFrom('gateway_windows').selectAll().where('id', '=', windowId).where('model_version_id', '=', id).executeTakeFirst();
    const verdicts = (await verdictsOf(db, id, [windowId])).get(windowId) ?? [];
    if (!row && verdicts.length === 0) throw new ApiError(404, 'window_not_found', `${id} has no window ${windowId}`);
    const performance = (await performanceOf(db, [windowId])).get(windowId) ?? null;
    // The full drift report (per-column statistics and distributions) from the content store.
    const driftStep = verdicts.filter((v) => v.step === 'drift' && v.report).at(-1);
    const driftReport = driftStep?.report ? await evidence.get(driftStep.report.digest) : null;
    return {
      ...windowSummary(row ?? null, verdicts, performance, windowId),
      sample: row?.sample ?? null,
      verdicts: verdicts.map(({ report, ...v }) => ({ ...v, ...(report ? { report: { kind: report.kind, digest: report.digest } } : {}) })),
      driftReport,
    };
  });
};

async function requireVersion(db: CatalogDb, id: string): Promise<void> {
  const found = await db.selectFrom('model_versions').select('id').where('id', '=', id).executeTakeFirst();
  if (!found) throw new ApiError(404, 'model_version_not_found', `no model version ${id}`);
}

/**
 * Windows whose performance is due for these labels: windows of the labelled requests that were never measured,
 * or were measured before one of the labels arrived. Sending the same labels again, once measured, names none.
 */
async function windowsDue(db: CatalogDb, id: string, requestIds: readonly string[]): Promise<string[]> {
  const rows = await db
    .selectFrom('gateway_requests as r')
    .innerJoin('request_labels as l', (j) => j.onRef('l.model_version_id', '=', 'r.model_version_id').onRef('l.request_id', '=', 'r.request_id'))
    .leftJoin('window_performance as p', 'p.window_id', 'r.window_id')
    .select('r.window_id')
    .distinct()
    .where('r.model_version_id', '=', id)
    .where('r.request_id', 'in', requestIds)
    .where((eb) => eb.or([eb('p.window_id', 'is', null), eb('p.computed_at', '<', eb.ref('l.received_at'))]))
    .orderBy('r.window_id')
    .execute();
  return rows.map((r) => r.window_id);
}

interface Verdict {
  readonly seq: number;
  readonly at: Date;
  readonly step: string;
  readonly outcome: string;
  readonly detail: Record<string, unknown>;
  readonly report: { kind: string; digest: string } | null;
}

async function verdictsOf(db: CatalogDb, id: string, windows: readonly string[]): Promise<Map<string, Verdict[]>> {
  const out = new Map<string, Verdict[]>();
  if (windows.length === 0) return out;
  const rows = await db
    .selectFrom('stage_transitions as t')
    .leftJoin('reports as r', (j) => j.onRef('r.workflow_id', '=', 't.workflow_id').onRef('r.seq', '=', 't.seq'))
    .select(['t.seq', 't.at', 't.step', 't.outcome', 't.detail', 'r.kind', 'r.digest'])
    .where('t.model_version_id', '=', id)
    .where('t.step', 'in', [...WINDOW_STEPS])
    .where(sql<string>`t.detail->'window'->>'id'`, 'in', [...windows])
    .orderBy('t.seq')
    .execute();
  for (const r of rows) {
    const detail = r.detail as Record<string, unknown>;
    const window = (detail.window as { id: string }).id;
    const verdict: Verdict = { seq: r.seq, at: r.at, step: r.step!, outcome: r.outcome, detail, report: r.kind && r.digest ? { kind: r.kind, digest: r.digest } : null };
    out.set(window, [...(out.get(window) ?? []), verdict]);
  }
  return out;
}

async function performanceOf(db: CatalogDb, windows: readonly string[]) {
  const out = new Map<string, { labelled: number; metrics: unknown; fairness: unknown; computedAt: Date; previous: unknown }>();
  if (windows.length === 0) return out;
  const rows = await db.selectFrom('window_performance').selectAll().where('window_id', 'in', [...windows]).execute();
  for (const r of rows) out.set(r.window_id, { labelled: r.labelled, metrics: r.metrics, fairness: r.fairness, computedAt: r.computed_at, previous: r.previous });
  return out;
}

function windowSummary(
  row: { id: string; window_start: Date; window_end: Date; deployment_id: string; observation: unknown } | null,
  verdicts: readonly Verdict[],
  performance: unknown,
  fallbackId?: string,
) {
  const observation = (row?.observation ?? null) as { requests?: number; errors?: number; latencyMs?: unknown } | null;
  const last = (step: string) => verdicts.filter((v) => v.step === step).at(-1) ?? null;
  const brief = (v: Verdict | null) => (v ? { outcome: v.outcome, at: v.at, ...pick(v.detail, ['breaches', 'share', 'driftedColumns', 'statistic', 'threshold', 'stattest', 'labelled', 'metrics', 'late', 'problem']) } : null);
  return {
    id: row?.id ?? fallbackId!,
    start: row?.window_start ?? null,
    end: row?.window_end ?? null,
    deploymentId: row?.deployment_id ?? null,
    requests: observation?.requests ?? null,
    errors: observation?.errors ?? null,
    latencyMs: observation?.latencyMs ?? null,
    observation: brief(last('observation')),
    drift: brief(last('drift')),
    predictionDrift: brief(last('prediction-drift')),
    performance: performance ?? brief(last('performance')),
    alerts: verdicts.filter((v) => v.step === 'alert').map((v) => ({ at: v.at, ...pick(v.detail, ['severity', 'streak', 'kinds', 'breaches', 'retrain']) })),
  };
}

const pick = (o: Record<string, unknown>, keys: readonly string[]) => Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
