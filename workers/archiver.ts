import { WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import { historyArchiver } from '../workflows/history-archiver.js';

export const HISTORY_ARCHIVER_ID = 'steward-history-archiver';

/** Starts the namespace's single history archiver unless it already runs. */
export async function ensureHistoryArchiver(client: Client, taskQueue: string, intervalMs: number): Promise<void> {
  await client.workflow.start(historyArchiver, {
    workflowId: HISTORY_ARCHIVER_ID,
    taskQueue,
    args: [{ intervalMs }],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  });
}
