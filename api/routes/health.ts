import type { FastifyPluginAsync } from 'fastify';
import { sql } from 'kysely';
import type { RouteDeps } from '../server.js';

/** Liveness and dependency health; unauthenticated, reveals nothing but reachability. */
export const healthRoutes: FastifyPluginAsync<RouteDeps> = async (app, { db, client }) => {
  app.get('/health', { schema: { security: [] } }, async (_request, reply) => {
    const [catalog, temporal] = await Promise.all([
      sql`select 1`.execute(db).then(() => 'ok' as const, () => 'unreachable' as const),
      client.workflowService.getSystemInfo({}).then(() => 'ok' as const, () => 'unreachable' as const),
    ]);
    const ok = catalog === 'ok' && temporal === 'ok';
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', catalog, temporal });
  });
};
