/**
 * Heavy compute (drift over whole datasets) runs on a task queue of its own, next to the lifecycle's, so it
 * scales on its own workers and never delays a lifecycle's quick activities. Derived from the lifecycle's
 * queue so that workflow code can name it without reading configuration.
 */
export function computeTaskQueue(lifecycleTaskQueue: string): string {
  return `${lifecycleTaskQueue}-compute`;
}
