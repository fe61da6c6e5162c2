import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { LifecycleActivities } from '../../activities/index.js';
import { computeTaskQueue } from '../../core/task-queues.js';

/** Who acts for automatic steps. */
export const STEWARD = 'steward';

/** Quick writes and checks: an attempt lost with a crashed worker is retried only after this timeout. */
export const activities = proxyActivities<LifecycleActivities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/**
 * The scan streams artifacts of up to gigabytes: it may take minutes, heartbeats as bytes pass (so a dead
 * worker is noticed within the heartbeat timeout and a cancellation reaches the read), and gives up after a
 * few attempts. Refused and oversized artifacts are findings, not failures, so retries are for outages only.
 */
const scanOptions: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', maximumInterval: '1 minute', maximumAttempts: 3, nonRetryableErrorTypes: ['UriNotAllowed', 'ArtifactTooLarge'] },
};
export const { scanArtifacts } = proxyActivities<LifecycleActivities>(scanOptions);

/**
 * The scan on the compute task queue (`<queue>-compute`), beside drift and scoring: a gigabyte of hashing and
 * opcode walking belongs on workers sized for it, not on the ones running workflow tasks.
 */
export function computeScan(lifecycleQueue: string): LifecycleActivities['scanArtifacts'] {
  return proxyActivities<Pick<LifecycleActivities, 'scanArtifacts'>>({ ...scanOptions, taskQueue: computeTaskQueue(lifecycleQueue) }).scanArtifacts;
}

/**
 * Loading a model into a runtime (and unloading it) takes as long as the model needs: heartbeats tell a dead
 * worker from a slow load. A refusal (unknown target, unsupported framework, bad artifact) is final; an outage
 * is retried for a few minutes before the lifecycle records the deploy as failed.
 */
export const runtimeActivities = proxyActivities<LifecycleActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 8, nonRetryableErrorTypes: ['DeployRefused'] },
});

