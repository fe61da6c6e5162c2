import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { BatchScoringRequest, BatchScoringResult } from '../activities/batch-scoring.js';
import type { ComputeActivities } from '../activities/index.js';
import { computeTaskQueue } from '../core/task-queues.js';

/** One batch per model version and batch id: starting it again reaches the same run. */
export function batchScoringWorkflowId(modelVersionId: string, batchId: string): string {
  return `batch-scoring:${modelVersionId}:${batchId}`;
}

/**
 * Scores one file with a serving model version on the compute workers and returns where the predictions are.
 * A file that cannot be read or parsed, a runtime that refuses the request, or a location outside the read
 * allow-list fails at once; a lost worker or a runtime's passing error is retried a few times. The activity
 * heartbeats after every chunk, so a worker that dies mid-file is noticed within the heartbeat timeout.
 */
export async function batchScoring(request: BatchScoringRequest): Promise<BatchScoringResult> {
  const { scoreBatch } = proxyActivities<ComputeActivities>({
    taskQueue: computeTaskQueue(workflowInfo().taskQueue),
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '2 minutes',
    retry: {
      initialInterval: '5 seconds',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      maximumAttempts: 5,
      nonRetryableErrorTypes: ['DatasetProblem', 'RuntimeRefused', 'UriNotAllowed'],
    },
  });
  return scoreBatch(request);
}
