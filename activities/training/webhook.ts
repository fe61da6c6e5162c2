import { createHash, randomBytes } from 'node:crypto';
import { ApplicationFailure, CompleteAsyncError, Context } from '@temporalio/activity';
import type { CatalogDb } from '../../catalog/db.js';
import type { TrainingJob, WebhookRunner } from '../../core/training.js';
import type { NetworkPolicy } from '../../core/uri-policy.js';
import { post } from '../webhooks.js';
import type { TrainingSettings } from './settings.js';
import { TRAINING_REFUSED } from './command.js';

/** The callback token's digest: what the catalog keys a waiting run by (the token itself is never stored). */
export const callbackTokenDigest = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Starts a training run on an external pipeline and leaves the activity open: POSTs the job with a callback
 * URL carrying a fresh unguessable token (32 random bytes), stores the activity's task token under the
 * token's digest, and completes asynchronously. The pipeline's callback (api/routes/training.ts) completes or
 * fails the activity hours or days later, whichever worker is running by then. A retried attempt gets a new
 * token (the old one stops working) and POSTs again.
 */
export async function startWebhookRun(job: TrainingJob, runner: WebhookRunner, settings: TrainingSettings, db: CatalogDb, policy: NetworkPolicy): Promise<never> {
  const { info } = Context.current();
  if (!settings.callbackBaseUrl) {
    throw ApplicationFailure.create({ type: TRAINING_REFUSED, message: 'a webhook runner needs STEWARD_PUBLIC_URL: the address pipelines call back', nonRetryable: true });
  }
  const token = randomBytes(32).toString('base64url');
  const row = {
    run_key: job.runKey,
    token_sha256: callbackTokenDigest(token),
    task_token: Buffer.from(info.taskToken).toString('base64'),
    workflow_id: job.workflowId,
    created_at: new Date(),
    completed_at: null,
    outcome: null,
  };
  await db
    .insertInto('training_callbacks')
    .values(row)
    .onConflict((oc) => oc.column('run_key').doUpdateSet({ token_sha256: row.token_sha256, task_token: row.task_token, created_at: row.created_at, completed_at: null, outcome: null }))
    .execute();
  const callbackUrl = `${settings.callbackBaseUrl}/training/callbacks/${token}`;
  const body = JSON.stringify({
    runKey: job.runKey,
    model: job.modelName,
    parentVersion: job.parentVersion,
    version: job.version,
    parentArtifacts: job.parentArtifacts,
    trainingData: job.trainingData,
    trigger: job.trigger,
    reason: job.reason,
    callbackUrl,
    deadline: new Date(Date.now() + runner.timeoutMs).toISOString(),
  });
  const status = await post(runner.url, { 'content-type': 'application/json', 'idempotency-key': job.runKey }, body, policy);
  if (status >= 200 && status < 300) throw new CompleteAsyncError();
  const message = `training pipeline ${runner.url} answered ${status}`;
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) throw ApplicationFailure.create({ type: TRAINING_REFUSED, message, nonRetryable: true });
  throw new Error(message);
}
