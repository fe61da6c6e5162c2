import { continueAsNew, proxyActivities, sleep } from '@temporalio/workflow';
import type { LifecycleActivities } from '../activities/index.js';

const { archiveClosedRuns } = proxyActivities<LifecycleActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumInterval: '5 minutes' },
});

/** Passes between continue-as-new; each pass is a handful of events. */
const PASSES_PER_RUN = 200;

/**
 * Copies the histories of closed lifecycle runs into the evidence store, every `intervalMs`, for as long as
 * Steward runs. One instance per namespace (fixed workflow id), so the archive has a single writer.
 */
export async function historyArchiver(input: { intervalMs: number }): Promise<void> {
  for (let pass = 0; pass < PASSES_PER_RUN; pass++) {
    await archiveClosedRuns({});
    await sleep(input.intervalMs);
  }
  await continueAsNew<typeof historyArchiver>(input);
}
