import { createHash } from 'node:crypto';
import { ActivityNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { datasetRefSchema } from '../../core/manifest.js';
import { METRIC_NAME_PATTERN } from '../../core/names.js';
import type { TrainingOutput } from '../../core/training.js';
import { ApiError } from '../errors.js';
import type { RouteDeps } from '../server.js';

/** The callback token in the URL a pipeline was handed: 32 random bytes, base64url. */
const callbackParams = z.strictObject({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be the callback token Steward handed the pipeline') });

const outputFile = z.strictObject({
  uri: z.string().regex(/^(file|https?|s3|gs|az|hdfs|dbfs):\/\/\S+$/, 'must be a file, http(s), s3, gs, az, hdfs or dbfs URI'),
  name: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/, 'must be an identifier')
    .optional(),
});

/**
 * What a training pipeline reports. Artifacts are URIs only: Steward reads their bytes and computes the
 * digests itself, so a pipeline cannot vouch for bytes it did not produce.
 */
const callbackBody = z.discriminatedUnion('status', [
  z.strictObject({
    status: z.literal('succeeded'),
    artifacts: z.array(outputFile).min(1, 'must list at least one artifact').max(100),
    metrics: z.record(z.string().regex(METRIC_NAME_PATTERN, 'must be a metric name'), z.number().finite()).default({}),
    trainingData: z.array(datasetRefSchema).max(100).default([]),
    /** The pipeline's own id for the run, kept in history. */
    runId: z.string().trim().min(1).max(200).optional(),
  }),
  z.strictObject({ status: z.literal('failed'), reason: z.string().trim().min(1, 'must say why').max(2000) }),
]);

const digestOf = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Training callbacks: an external pipeline started by a webhook runner reports its outcome here. The token
 * in the path is the credential (unguessable, single use, stored only as its digest); it completes or fails
 * the waiting activity through Temporal's async completion, whichever worker is running by then.
 */
export const trainingRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, client }) => {
  app.post('/training/callbacks/:token', { schema: { security: [], params: callbackParams, body: callbackBody } }, async (request, reply) => {
    const tokenSha256 = digestOf(request.params.token);
    const body = request.body;
    // Claim the run first, so two callbacks racing each other complete it once.
    const claimed = await db
      .updateTable('training_callbacks')
      .set({ completed_at: new Date(), outcome: body.status })
      .where('token_sha256', '=', tokenSha256)
      .where('completed_at', 'is', null)
      .returning(['run_key', 'task_token', 'workflow_id'])
      .executeTakeFirst();
    if (!claimed) {
      const known = await db.selectFrom('training_callbacks').select(['outcome']).where('token_sha256', '=', tokenSha256).executeTakeFirst();
      if (!known) throw new ApiError(404, 'unknown_callback', 'params.token: no training run waits for this token (it may have been replaced by a retried attempt)');
      throw new ApiError(409, 'already_reported', `params.token: this training run was already reported as ${known.outcome}`);
    }
    const taskToken = Buffer.from(claimed.task_token, 'base64');
    try {
      if (body.status === 'succeeded') {
        const output: TrainingOutput = {
          artifacts: body.artifacts,
          metrics: body.metrics,
          trainingData: body.trainingData,
          summary: { pipeline: 'webhook', ...(body.runId ? { pipelineRun: body.runId } : {}) },
        };
        await client.activity.complete(taskToken, output);
      } else {
        await client.activity.fail(taskToken, ApplicationFailure.create({ type: 'TrainingFailed', message: `training pipeline failed: ${body.reason}`, nonRetryable: true }));
      }
    } catch (err) {
      if (err instanceof ActivityNotFoundError) {
        throw new ApiError(410, 'training_expired', 'params.token: the training run no longer waits (it timed out, was cancelled, or its lifecycle ended)');
      }
      // Not delivered: let the pipeline retry the same callback.
      await db.updateTable('training_callbacks').set({ completed_at: null, outcome: null }).where('run_key', '=', claimed.run_key).execute();
      throw err;
    }
    return reply.status(202).send({ runKey: claimed.run_key, workflowId: claimed.workflow_id, accepted: body.status });
  });
};
