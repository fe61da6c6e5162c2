import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';
import type { StageTransition } from '../core/stages.js';
import type { HistoryArchive } from '../evidence/history-archive.js';
import type { LifecycleInput } from '../core/lifecycle.js';

export type History = temporal.api.history.v1.IHistory;

export interface RunHistory {
  readonly runId: string;
  readonly history: History;
}

/** The stage transitions a run recorded: the inputs of its `recordStage` activities, in order. */
export function recordedTransitions(history: History): StageTransition[] {
  return (history.events ?? []).flatMap((event) => {
    const attrs = event.activityTaskScheduledEventAttributes;
    const payload = attrs?.activityType?.name === 'recordStage' ? attrs.input?.payloads?.[0] : undefined;
    return payload ? [defaultPayloadConverter.fromPayload<StageTransition>(payload)] : [];
  });
}

/** The input a lifecycle run started with, from its first event. */
export function startInputOf(history: History): LifecycleInput {
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new Error('history has no workflow start input');
  return defaultPayloadConverter.fromPayload<LifecycleInput>(payload);
}

/** One run: from Temporal while it still has it, else from the archive (after retention or deletion). */
async function fetchRun(client: Client, archive: HistoryArchive | undefined, workflowId: string, runId: string): Promise<History> {
  try {
    return await client.workflow.getHandle(workflowId, runId).fetchHistory();
  } catch (err) {
    const archived = await archive?.historyOf(workflowId, runId);
    if (archived === undefined || archived === null) throw err;
    return historyFromJSON(archived);
  }
}

async function firstRunId(client: Client, archive: HistoryArchive | undefined, workflowId: string): Promise<string> {
  try {
    const description = await client.workflow.getHandle(workflowId).describe();
    return description.raw.workflowExecutionInfo?.firstRunId ?? description.runId;
  } catch (err) {
    const first = (await archive?.entriesOf(workflowId))?.[0];
    if (!first) throw err;
    return first.runId;
  }
}

/** Every run of a lifecycle, oldest first, following the continue-as-new chain from its first run. */
export async function lifecycleRunHistories(client: Client, workflowId: string, archive?: HistoryArchive): Promise<RunHistory[]> {
  const runs: RunHistory[] = [];
  let runId: string | undefined = await firstRunId(client, archive, workflowId);
  while (runId) {
    const history = await fetchRun(client, archive, workflowId, runId);
    runs.push({ runId, history });
    runId = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return runs;
}
