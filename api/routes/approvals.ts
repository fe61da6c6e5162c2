import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { approvalInbox } from '../../catalog/approvals-inbox.js';
import { InvalidCursorError } from '../../catalog/inventory.js';
import { modelVersionId, type ModelVersionRef } from '../../core/model-id.js';
import type { ApprovalVerdict } from '../../core/approval.js';
import { approvalSignal, statusQuery } from '../../workflows/messages.js';
import { authorize, anyRole, principalOf } from '../auth.js';
import { ApiError } from '../errors.js';
import type { Lifecycles } from '../lifecycles.js';
import type { RouteDeps } from '../server.js';
import { idempotencyHeaders, modelIdParams } from './params.js';

const approvalBody = z
  .strictObject({
    decision: z.enum(['approve', 'reject']),
    comment: z.string().trim().max(4000).default(''),
  })
  .refine((b) => b.decision !== 'reject' || b.comment.length > 0, {
    path: ['comment'],
    message: 'a rejection needs a reason in comment',
  });

/** The inbox is paged in the order versions reached the gate; `nextCursor` continues it. */
const inboxQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).max(2000).optional(),
});

/** How long the API waits for the lifecycle to judge an attempt before answering 202 (pending). */
const VERDICT_WAIT_MS = 5_000;

/** HTTP status for each verdict: decided or counted is 200; refusals say whether it was who you are or when. */
function statusFor(verdict: ApprovalVerdict): number {
  if (verdict.status !== 'refused') return 200;
  return verdict.reason === 'role-not-allowed' || verdict.reason === 'separation-of-duties' ? 403 : verdict.reason === 'reason-required' ? 400 : 409;
}

async function awaitVerdict(lifecycles: Lifecycles, ref: ModelVersionRef, attemptId: string): Promise<ApprovalVerdict | null> {
  const deadline = Date.now() + VERDICT_WAIT_MS;
  for (let delay = 25; Date.now() < deadline; delay = Math.min(delay * 2, 400)) {
    try {
      const status = await lifecycles.handle(ref).query(statusQuery);
      const attempt = status.approvals.find((a) => a.request.attemptId === attemptId);
      if (attempt) return attempt.verdict;
    } catch {
      // No worker answering queries right now; the signal is recorded regardless.
    }
    await sleep(delay);
  }
  return null;
}

/**
 * Approvals. Any authenticated principal may attempt a decision: the lifecycle itself judges stage, role,
 * quorum and separation of duties, so refused attempts are in its history as well.
 */
export const approvalRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, authenticate, lifecycles }) => {
  const anyone = authorize(authenticate, anyRole, 'any role; the approval gate checks approver groups');

  app.get('/approvals', { schema: { querystring: inboxQuery }, onRequest: anyone }, async (request) => {
    const { limit, cursor } = request.query;
    try {
      return await approvalInbox(db, principalOf(request), { limit, ...(cursor ? { cursor } : {}) });
    } catch (err) {
      if (err instanceof InvalidCursorError) {
        throw new ApiError(400, 'invalid_request', `querystring.cursor: ${err.message}`, [{ field: 'querystring.cursor', problem: err.message }]);
      }
      throw err;
    }
  });

  app.post(
    '/models/:id/approvals',
    { schema: { params: modelIdParams, body: approvalBody, headers: idempotencyHeaders }, onRequest: anyone },
    async (request, reply) => {
      const ref = request.params.id;
      const principal = principalOf(request);
      // A key is the caller's own: another approver reusing it makes a different attempt, never a replay of this one.
      const key = request.headers['idempotency-key'];
      const attemptId = key ? `${encodeURIComponent(principal.id)}:${key}` : randomUUID();
      try {
        await lifecycles.handle(ref).signal(approvalSignal, { attemptId, decision: request.body.decision, comment: request.body.comment, principal });
      } catch (err) {
        // Signalled straight away (no describe first, one round trip less on every approval); only a lifecycle
        // that is unknown or has ended is described, for the 404 or 409 that names why.
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        await lifecycles.requireRunning(ref);
        throw err;
      }
      const verdict = await awaitVerdict(lifecycles, ref, attemptId);
      const body = { modelVersionId: modelVersionId(ref), attemptId, verdict: verdict ?? { status: 'pending' } };
      return reply.status(verdict ? statusFor(verdict) : 202).send(body);
    },
  );
};
