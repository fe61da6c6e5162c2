import { patched, workflowInfo } from '@temporalio/workflow';

/**
 * When a monitor run continues-as-new: once its history reaches this many events. A continue-as-new that a
 * window signalled meanwhile makes the server refuse (UnhandledCommand); the SDK then evicts the run and its next
 * task replays the whole history. Under a flood of windows each replay of a 3,000-event run took longer than the
 * gap to the next window, so the task failed again and again and timed out (`npm run bench:monitor-loop`). A
 * smaller run replays in a fraction of the time, so a refused continue-as-new succeeds at its next try.
 */
export const RUN_EVENTS = 1_000;
/** The budget runs recorded before `steward:monitor-run-budget` kept (and still keep on replay). */
export const RUN_EVENTS_BEFORE = 3_000;

/** Whether this monitor run has had its share of history; the patches keep recorded runs continuing where they did. */
export function runBudgetReached(): boolean {
  const events = workflowInfo().historyLength;
  return (events >= RUN_EVENTS && patched('steward:monitor-run-budget')) || (events >= RUN_EVENTS_BEFORE && patched('steward:monitor-run-events'));
}
