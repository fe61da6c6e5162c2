import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { lifecycleWorkflowId, modelVersionId } from '../core/model-id.js';
import type { LifecycleInput } from '../workflows/lifecycle.js';
import { startInputOf } from './run-histories.js';

/**
 * What a bundle may say about a lifecycle is what its histories say: these facts are read from the start event
 * of each run, so verify can compare a bundle's claims with them and lineage never has to trust the claims.
 */
export interface RunFacts {
  readonly workflowId: string;
  readonly runId: string;
  /** The run this one continued as new from; null for the first run of a lifecycle. */
  readonly continuedFrom: string | null;
  readonly input: LifecycleInput;
}

export interface LifecycleFacts {
  readonly workflowId: string;
  readonly modelVersionId: string;
  readonly manifest: LifecycleInput['manifest'];
  readonly template: string;
  readonly templates: readonly string[];
  readonly parentWorkflowId: string | null;
}

type StartedAttributes = { workflowId?: string; originalExecutionRunId?: string; continuedExecutionRunId?: string };

/** The facts of one run, from its first event (a history in the JSON of `temporal workflow show`). */
export function runFacts(history: { readonly events: readonly unknown[] }): RunFacts {
  const first = history.events[0] as { workflowExecutionStartedEventAttributes?: StartedAttributes } | undefined;
  const started = first?.workflowExecutionStartedEventAttributes;
  if (!started?.workflowId || !started.originalExecutionRunId) throw new TypeError('its first event is not a workflow start naming the workflow and run');
  // Only the first event is converted: it carries the start input, and a whole history is costly to convert.
  const input = startInputOf(historyFromJSON({ events: [first] }));
  return { workflowId: started.workflowId, runId: started.originalExecutionRunId, continuedFrom: started.continuedExecutionRunId || null, input };
}

/** The facts of a lifecycle, from its runs in order (the first run's start input names manifest and template). */
export function lifecycleFacts(runs: readonly RunFacts[]): LifecycleFacts {
  const first = runs[0];
  if (!first) throw new TypeError('a lifecycle has at least one run');
  const { manifest, lineage } = first.input;
  return {
    workflowId: lifecycleWorkflowId(manifest),
    modelVersionId: modelVersionId(manifest),
    manifest,
    template: first.input.template ?? 'inline',
    templates: [...new Set(runs.map((r) => r.input.template ?? 'inline'))],
    parentWorkflowId: lineage?.parentWorkflowId ?? null,
  };
}
