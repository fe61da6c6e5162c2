import type { Client } from '@temporalio/client';
import type { WorkflowBundle } from '@temporalio/worker';
import { lifecycleWorkflowId, type ModelVersionRef } from '../core/model-id.js';
import { replayHistories, type NamedHistory } from '../workers/replay.js';
import type { HistoryArchive } from '../evidence/history-archive.js';
import { BUNDLE_FORMATS, runsOf, type EvidenceBundle } from './bundle.js';

export interface ReplayReport {
  readonly history: string;
  readonly ok: boolean;
  /** The first event the current code disagrees with, when Temporal names it. */
  readonly eventId: number | null;
  readonly error: string | null;
}

/**
 * The histories in a document an auditor hands over: a Steward evidence bundle, or one history as printed by
 * `temporal workflow show --output json` or downloaded from the Temporal Web UI.
 */
export function historiesIn(document: unknown, name: string): NamedHistory[] {
  const d = (typeof document === 'object' && document !== null ? document : {}) as Partial<Omit<EvidenceBundle, 'format'>> & { format?: unknown; events?: unknown[] };
  if (BUNDLE_FORMATS.includes(d.format as (typeof BUNDLE_FORMATS)[number])) {
    if (!Array.isArray(d.lifecycles)) throw new TypeError(`${name}: lifecycles: the bundle holds no lifecycles`);
    return d.lifecycles.flatMap((l, i) => {
      if (!Array.isArray(l?.runs)) throw new TypeError(`${name}: lifecycles.${i}.runs: is not a list of runs`);
      return l.runs.map((r: { workflowId: string; runId: string; history: unknown }) => ({ name: `${r.workflowId} run ${r.runId}`, json: r.history }));
    });
  }
  if (typeof d.format === 'string') throw new TypeError(`${name}: format "${d.format}" is not a bundle format this version of Steward reads (${BUNDLE_FORMATS.join(', ')})`);
  if (Array.isArray(d.events)) return [{ name, json: d }];
  throw new TypeError(`${name} is neither a Steward evidence bundle nor a workflow history (no "events")`);
}

/** Every run of a lifecycle, from Temporal or, for runs it no longer has, from the archive. */
export async function historiesOf(client: Client, ref: ModelVersionRef, archive?: HistoryArchive): Promise<NamedHistory[]> {
  const { runs } = await runsOf(client, archive, lifecycleWorkflowId(ref));
  return runs.map((r) => ({ name: `${r.workflowId} run ${r.runId}`, json: r.history }));
}

/** Replays histories against the given workflow code and reports, per history, OK or the violation. */
export async function auditReplay(histories: readonly NamedHistory[], workflowBundle: WorkflowBundle): Promise<ReplayReport[]> {
  const outcomes = await replayHistories(histories, workflowBundle);
  return outcomes.map((o) => {
    if (o.ok) return { history: o.name, ok: true, eventId: null, error: null };
    const id = /HistoryEvent\(id: (\d+)/.exec(o.error)?.[1];
    return { history: o.name, ok: false, eventId: id ? Number(id) : null, error: o.error };
  });
}
