import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import type { HistoryArchive } from '../evidence/history-archive.js';
import type { temporal } from '@temporalio/proto';
import { projection } from './projection.js';
import type { CatalogDb } from './db.js';
import { PROJECTION_TABLES } from './schema.js';

/**
 * Rebuilds or repairs the catalog from the lifecycle histories, which are the source of truth. Every catalog
 * write a lifecycle makes is an activity whose input is in its history; reconcile collects those inputs from
 * every run of every lifecycle, orders them by the time the workflow scheduled them, and applies them with
 * the same idempotent projection code the activities use. Applying them to an intact catalog changes nothing;
 * applying them to an empty one rebuilds it.
 */
/** Activity type → the projection writer that applies its recorded input (the writers are named after them). */
type Projector = (input: never) => Promise<unknown>;

interface ProjectionOp {
  readonly time: number;
  readonly workflowId: string;
  readonly eventId: number;
  readonly activity: string;
  readonly input: unknown;
}

/**
 * The catalog writes a history records: inputs of projection activities that completed. A write whose
 * activity never completed (the lifecycle was terminated first, or it is still in flight) is not applied;
 * an in-flight one will apply itself when it completes.
 */
export function projectionOpsIn(workflowId: string, history: temporal.api.history.v1.IHistory, wanted: ReadonlySet<string>): ProjectionOp[] {
  const completed = new Set(
    (history.events ?? []).flatMap((e) => (e.activityTaskCompletedEventAttributes ? [Number(e.activityTaskCompletedEventAttributes.scheduledEventId)] : [])),
  );
  return (history.events ?? []).flatMap((event) => {
    if (!completed.has(Number(event.eventId))) return [];
    const attrs = event.activityTaskScheduledEventAttributes;
    const activity = attrs?.activityType?.name;
    const payload = attrs?.input?.payloads?.[0];
    if (!activity || !wanted.has(activity) || !payload) return [];
    const seconds = Number(event.eventTime?.seconds ?? 0);
    const time = seconds * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6);
    return [{ time, workflowId, eventId: Number(event.eventId), activity, input: defaultPayloadConverter.fromPayload(payload) }];
  });
}

export interface ReconcileReport {
  readonly runs: number;
  readonly lifecycles: number;
  readonly applied: Readonly<Record<string, number>>;
}

export async function reconcileCatalog(
  client: Client,
  db: CatalogDb,
  options: { drop?: boolean; query?: string; archive?: HistoryArchive } = {},
): Promise<ReconcileReport> {
  const apply: Record<string, Projector> = projection(db);
  const wanted = new Set(Object.keys(apply));
  const ops: ProjectionOp[] = [];
  const lifecycles = new Set<string>();
  const seen = new Set<string>();
  let runs = 0;
  for await (const execution of client.workflow.list({ query: options.query ?? "WorkflowType = 'modelLifecycle'" })) {
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    ops.push(...projectionOpsIn(execution.workflowId, history, wanted));
    lifecycles.add(execution.workflowId);
    seen.add(`${execution.workflowId}/${execution.runId}`);
    runs += 1;
  }
  // Runs Temporal no longer has (past retention, or deleted) come from the archive.
  for (const entry of (await options.archive?.entries()) ?? []) {
    if (seen.has(`${entry.workflowId}/${entry.runId}`)) continue;
    const archived = await options.archive!.historyOf(entry.workflowId, entry.runId);
    if (archived === null) continue;
    ops.push(...projectionOpsIn(entry.workflowId, historyFromJSON(archived), wanted));
    lifecycles.add(entry.workflowId);
    runs += 1;
  }
  ops.sort((a, b) => a.time - b.time || a.workflowId.localeCompare(b.workflowId) || a.eventId - b.eventId);

  if (options.drop) {
    await db.transaction().execute(async (trx) => {
      for (const table of PROJECTION_TABLES) await trx.deleteFrom(table).execute();
    });
  }
  const applied: Record<string, number> = {};
  for (const op of ops) {
    await apply[op.activity]!(op.input as never);
    applied[op.activity] = (applied[op.activity] ?? 0) + 1;
  }
  return { runs, lifecycles: lifecycles.size, applied };
}
