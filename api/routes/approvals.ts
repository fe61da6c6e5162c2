import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { modelVersionId, type ModelVersionRef } from '../../core/model-id.js';
import { approvalSignal, statusQuery, type ApprovalVerdict } from '../../workflows/messages.js';
import { authorize, anyRole, principalOf } from '../auth.js';
import type { Lifecycles } from '../lifecycles.js';
import type { RouteDeps } from '../server.js';
import { modelIdParams } from './params.js';

const approvalBody = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  comment: z.string().max(4000).default(''),
});

const approvalHeaders = z.object({
  'idempotency-key': z.string().min(8).max(200).optional(),
});

/** How long the API waits for the lifecycle to judge an attempt before answering 202 (pending). */
const VERDICT_WAIT_MS = 5_000;

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
 * Approval decisions. Any authenticated principal may attempt one: the lifecycle itself judges role,
 * stage and separation of duties, so refused attempts are recorded in history as well.
 */
export const approvalRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, lifecycles }) => {
  app.post(
    '/models/:id/approvals',
    {
      schema: { params: modelIdParams, body: approvalBody, headers: approvalHeaders },
      preHandler: authorize(db, anyRole, 'any role; the approval gate checks approver groups'),
    },
    async (request, reply) => {
      const ref = request.params.id;
      await lifecycles.requireRunning(ref);
      const attemptId = request.headers['idempotency-key'] ?? randomUUID();
      await lifecycles.handle(ref).signal(approvalSignal, {
        attemptId,
        decision: request.body.decision,
        comment: request.body.comment,
        principal: principalOf(request),
      });
      const verdict = await awaitVerdict(lifecycles, ref, attemptId);
      const body = { modelVersionId: modelVersionId(ref), attemptId, verdict: verdict ?? { status: 'pending' } };
      if (!verdict) return reply.status(202).send(body);
      return reply.status(verdict.status === 'accepted' ? 200 : 403).send(body);
    },
  );
};
