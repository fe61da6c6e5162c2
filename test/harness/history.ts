import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;

/** The history length once the workflow has gone quiet (two reads, a moment apart, agree). */
export async function settledHistoryLength(client: Client, workflowId: string): Promise<number> {
  let previous = -1;
  for (;;) {
    const length = (await client.workflow.getHandle(workflowId).fetchHistory()).events?.length ?? 0;
    if (length === previous) return length;
    previous = length;
    await new Promise((r) => setTimeout(r, 300));
  }
}


/** The stage transitions recorded in a history (the audit code's decoder, so tests read what auditors read). */
export { recordedTransitions as stageTransitionsIn } from '../../audit/run-histories.js';

/** Signals of one name received by a history, decoded. */
export function signalsIn<T>(history: History, name: string): T[] {
  return (history.events ?? []).flatMap((event) => {
    const attrs = event.workflowExecutionSignaledEventAttributes;
    if (attrs?.signalName !== name) return [];
    const payload = attrs.input?.payloads?.[0];
    return payload ? [defaultPayloadConverter.fromPayload<T>(payload)] : [];
  });
}
