import { Context } from '@temporalio/activity';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { ContentStore } from '../evidence/content-store.js';
import { HistoryArchive } from '../evidence/history-archive.js';

const VISIBILITY_LAG_MARGIN_MS = 60 * 60 * 1000;

/** Archives every closed lifecycle run not archived yet, so its history outlives Temporal's retention. */
export function archiveActivities(evidence: ContentStore) {
  const archive = new HistoryArchive(evidence);
  return {
    async archiveClosedRuns(input: { query?: string } = {}): Promise<{ archived: number; total: number }> {
      const client = Context.current().client;
      const entries = await archive.entries();
      const done = new Set(entries.map((e) => `${e.workflowId}/${e.runId}`));
      // Only runs that closed since the newest archived one, less a margin for visibility's indexing lag,
      // so a pass does not rescan every run ever closed.
      const newest = entries.reduce((max, e) => (e.closedAt > max ? e.closedAt : max), '');
      const since = newest ? new Date(Date.parse(newest) - VISIBILITY_LAG_MARGIN_MS).toISOString() : null;
      const base = input.query ?? "WorkflowType = 'modelLifecycle' AND ExecutionStatus != 'Running'";
      const query = since ? `(${base}) AND CloseTime >= '${since}'` : base;
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
