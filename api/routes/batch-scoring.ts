import { createHash, randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowIdReusePolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { BatchScoringRequest, BatchScoringResult } from '../../activities/batch-scoring.js';
import { artifactSchema, type ModelManifest } from '../../core/manifest.js';
import { modelVersionId } from '../../core/model-id.js';
import { batchScoringWorkflowId } from '../../workflows/batch-scoring.js';
import { authorize, isRole } from '../auth.js';
import { ApiError } from '../errors.js';
import type { RouteDeps } from '../server.js';
import { assertReadable } from '../uri-check.js';
import { idempotencyHeaders, modelIdParams } from './params.js';

/** Names the output file, so it is held to the file name the activity accepts. */
const batchIdSchema = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'must be letters, digits, ".", "_" or "-" (at most 128), not starting with "." or "-"');

const batchBody = z.strictObject({
  /** A CSV (header row) or JSON Lines file of inputs, one column or key per input field. */
  inputUri: artifactSchema.shape.uri,
  /** When given, the file's bytes must have this digest or nothing is kept. */
  inputSha256: artifactSchema.shape.sha256.optional(),
  /** Names the batch; the same batch id (or Idempotency-Key) returns the same job. */
  batchId: batchIdSchema.optional(),
});

const batchParams = modelIdParams.extend({ batchId: batchIdSchema });

type BatchStatus = 'running' | 'completed' | 'failed';

/** A batch id from the Idempotency-Key, so a retried request names the same batch whatever the key's characters. */
const batchIdFromKey = (key: string) => `key-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;

/** The innermost cause's message: the activity's own words, not "Activity task failed". */
function failureMessage(err: unknown): string {
  let message = err instanceof Error ? err.message : String(err);
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth += 1) {
    if (e.message) message = e.message;
  }
  return message;
}

async function batchState(client: Client, workflowId: string): Promise<{ status: BatchStatus; result?: BatchScoringResult; error?: string; memo: Record<string, unknown> }> {
  const handle = client.workflow.getHandle(workflowId);
  const description = await handle.describe();
  const memo = description.memo ?? {};
  const status = description.status.name;
  if (status === 'RUNNING' || status === 'CONTINUED_AS_NEW') return { status: 'running', memo };
  try {
    const result = (await handle.result()) as BatchScoringResult;
    return { status: 'completed', result, memo };
  } catch (err) {
    // Failed, cancelled, terminated or timed out; any other error (Temporal unreachable) is not an answer.
    if (!(err instanceof WorkflowFailedError)) throw err;
    return { status: 'failed', error: failureMessage(err), memo };
  }
}

/** Batch scoring: a file of inputs scored by a serving version on the compute workers, predictions to a file. */
export const batchScoringRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, authenticate, client, taskQueue, readPolicy }) => {
  const scorer = authorize(authenticate, isRole('engineer', 'scorer', 'admin'), 'engineer or scorer');

  app.post(
    '/models/:id/batch-scoring',
    { schema: { params: modelIdParams, body: batchBody, headers: idempotencyHeaders }, onRequest: scorer },
    async (request, reply) => {
      const id = modelVersionId(request.params.id);
      const { inputUri, inputSha256 } = request.body;
      assertReadable([{ field: 'body.inputUri', uri: inputUri }], readPolicy);
      const key = request.headers['idempotency-key'];
      const named = request.body.batchId ?? (key ? batchIdFromKey(key) : undefined);
      const batchId = named ?? randomUUID();
      const workflowId = batchScoringWorkflowId(id, batchId);
      const memo = { inputUri, inputSha256: inputSha256 ?? null };

      /** The job this batch id already names; 409 if it was started for another input. */
      const sameJob = async () => {
        const existing = await batchState(client, workflowId);
        if (existing.memo.inputUri !== memo.inputUri || (existing.memo.inputSha256 ?? null) !== memo.inputSha256) {
          const problem = `batch ${batchId} of ${id} was started for ${String(existing.memo.inputUri)}; use another batchId or Idempotency-Key for another input`;
          throw new ApiError(409, 'batch_conflict', problem, [{ field: request.body.batchId ? 'body.batchId' : 'headers.idempotency-key', problem }]);
        }
        return reply.status(202).send({ batchId, workflowId, status: existing.status });
      };

      const version = await db.selectFrom('model_versions').select(['manifest', 'stage']).where('id', '=', id).executeTakeFirst();
      if (!version) throw new ApiError(404, 'model_not_found', `no model version ${id} in the catalog`);
      // Scored by the runtime the version is loaded in: its live deployment's target.
      const deployment = await db
        .selectFrom('deployments')
        .select(['target'])
        .where('model_version_id', '=', id)
        .where('to_time', 'is', null)
        .orderBy('from_time', 'desc')
        .executeTakeFirst();
      if (!deployment) {
        // A retry of a batch started while the version served still returns that batch.
        if (named) {
          try {
            return await sameJob();
          } catch (err) {
            if (!(err instanceof WorkflowNotFoundError)) throw err;
          }
        }
        throw new ApiError(409, 'not_serving', `${id} is not serving (stage ${version.stage}, no live deployment); batch scoring needs a deployed version`);
      }
      const input: BatchScoringRequest = {
        batchId,
        modelVersionId: id,
        deploymentTarget: deployment.target,
        inputSchema: (version.manifest as ModelManifest).inputSchema,
        inputUri,
        ...(inputSha256 ? { inputSha256 } : {}),
      };
      try {
        await client.workflow.start('batchScoring', {
          taskQueue,
          workflowId,
          args: [input],
          // A batch id is used once: a retry, even after the batch ended, reaches the same job.
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          memo,
        });
        return reply.status(202).send({ batchId, workflowId, status: 'running' as BatchStatus });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      return sameJob();
    },
  );

  app.get('/models/:id/batch-scoring/:batchId', { schema: { params: batchParams }, onRequest: scorer }, async (request) => {
    const id = modelVersionId(request.params.id);
    const { batchId } = request.params;
    const workflowId = batchScoringWorkflowId(id, batchId);
    let state;
    try {
      state = await batchState(client, workflowId);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new ApiError(404, 'batch_not_found', `no batch ${batchId} for ${id}`);
      throw err;
    }
    return {
      batchId,
      workflowId,
      modelVersionId: id,
      status: state.status,
      ...(state.result ? { result: state.result } : {}),
      ...(state.error !== undefined ? { error: state.error } : {}),
    };
  });
};
