import { Context } from '@temporalio/activity';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { ContentStore } from '../evidence/content-store.js';
import { HistoryArchive } from '../evidence/history-archive.js';

/** Archives every closed lifecycle run not archived yet, so its history outlives Temporal's retention. */
export function archiveActivities(evidence: ContentStore) {
  const archive = new HistoryArchive(evidence);
  return {
    async archiveClosedRuns(input: { query?: string } = {}): Promise<{ archived: number; total: number }> {
      const client = Context.current().client;
      const done = new Set((await archive.entries()).map((e) => `${e.workflowId}/${e.runId}`));
      const query = input.query ?? "WorkflowType = 'modelLifecycle' AND ExecutionStatus != 'Running'";
      let archived = 0;
      for await (const execution of client.workflow.list({ query })) {
        if (done.has(`${execution.workflowId}/${execution.runId}`) || !execution.closeTime) continue;
        const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
        await archive.archive(execution.workflowId, execution.runId, execution.closeTime.toISOString(), JSON.parse(historyToJSON(history)));
        archived += 1;
        Context.current().heartbeat(archived);
      }
      return { archived, total: (await archive.entries()).length };
    },
  };
}
