import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { createTracing } from '../platform/telemetry.js';

export interface NamedHistory {
  /** What to call the history in reports: a fixture file name, a run id. */
  readonly name: string;
  /** History JSON as `temporal workflow show --output json` prints it, or as the SDK's historyToJSON writes it. */
  readonly json: unknown;
}

export type ReplayOutcome = { readonly name: string; readonly ok: true } | { readonly name: string; readonly ok: false; readonly error: string };

/**
 * Replays recorded histories against the current workflow code. A history whose commands no longer match
 * the code fails with Temporal's determinism error, which names the offending event.
 */
export async function replayHistories(histories: readonly NamedHistory[], workflowBundle: WorkflowBundle): Promise<ReplayOutcome[]> {
  const outcomes: ReplayOutcome[] = [];
  const input = histories.map((h) => ({ workflowId: h.name, history: historyFromJSON(h.json) }));
  // The bundle's tracing interceptors need their sink; replayed spans go nowhere.
  const tracing = createTracing({ serviceName: 'steward-replay' });
  const sinks = { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) };
  for await (const result of Worker.runReplayHistories({ workflowBundle, sinks }, input)) {
    outcomes.push(
      result.error
        ? { name: result.workflowId, ok: false, error: `${result.error.name}: ${result.error.message}` }
        : { name: result.workflowId, ok: true },
    );
  }
  return outcomes;
}
