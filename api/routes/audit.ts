import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { WorkflowNotFoundError } from '@temporalio/client';
import { exportBundle } from '../../audit/bundle.js';
import { HistoryArchive } from '../../evidence/history-archive.js';
import { ApiError } from '../errors.js';
import { lifecycleWorkflowId, modelVersionId } from '../../core/model-id.js';
import { publishEvent } from '../../events/publisher.js';
import { authorize, isRole, principalOf } from '../auth.js';
import type { RouteDeps } from '../server.js';
import { modelIdParams } from './params.js';

/** Audit exports (auditors and admins). Every export is itself logged as an `audit.export` event. */
export const auditRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, client, evidence, authenticate, taskQueue, signingKey }) => {
  const archive = new HistoryArchive(evidence);
  app.get(
    '/audit/models/:id/export',
    { schema: { params: modelIdParams }, onRequest: authorize(authenticate, isRole('auditor', 'admin'), 'auditor') },
    async (request) => {
      const ref = request.params.id;
      const principal = principalOf(request);
      const bundle = await exportBundle(client, ref, { exportedBy: principal.id, archive, ...(signingKey ? { signingKey } : {}) }).catch(
        (err: unknown) => {
          if (err instanceof WorkflowNotFoundError) throw new ApiError(404, 'model_not_found', `no lifecycle or archived history for ${modelVersionId(ref)}`);
          throw err;
        },
      );
      await publishEvent(db, client, taskQueue, {
        id: `audit-export/${randomUUID()}`,
        type: 'audit.export',
        modelVersionId: modelVersionId(ref),
        workflowId: lifecycleWorkflowId(ref),
        at: bundle.exportedAt,
        data: { exportedBy: principal.id, roles: principal.roles, histories: bundle.chain.length, head: bundle.chain.at(-1)?.link ?? null, signed: bundle.signature !== null },
      });
      return bundle;
    },
  );
};
