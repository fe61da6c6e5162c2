import type { FastifyPluginAsync } from 'fastify';
import { fetchSdkMetrics, mergeExpositions, stewardRegistry } from '../../platform/metrics.js';
import { anyRole, authorize } from '../auth.js';
import type { RouteDeps } from '../server.js';

/**
 * Prometheus metrics: Steward's own (`steward_*`, from the catalog) and, when a worker's metrics address is
 * configured (always in `steward dev`), the Temporal SDK's text appended. Counts per stage are business
 * information, so any signed-in role may read them; STEWARD_METRICS_PUBLIC=true opens the route to scrapers
 * that send no token.
 */
export const metricsRoutes: FastifyPluginAsync<RouteDeps> = async (app, { db, authenticate, metrics }) => {
  const registry = stewardRegistry(db);
  const guard = metrics.public ? {} : { onRequest: authorize(authenticate, anyRole, 'any role') };
  app.get(
    '/metrics',
    { ...guard, schema: { ...(metrics.public ? { security: [] } : {}), description: 'Prometheus text exposition (version 0.0.4)' } },
    async (request, reply) => {
      const texts = [await registry.metrics()];
      if (metrics.sdkAddress) {
        // A worker that is down must not hide Steward's own metrics: say so in a gauge and serve the rest.
        const sdk = await fetchSdkMetrics(metrics.sdkAddress).catch((err: Error) => {
          request.log.warn({ err, address: metrics.sdkAddress }, 'temporal sdk metrics unavailable');
          return null;
        });
        texts.push(`# HELP steward_sdk_metrics_up Whether the Temporal SDK's metrics could be read.\n# TYPE steward_sdk_metrics_up gauge\nsteward_sdk_metrics_up ${sdk === null ? 0 : 1}\n`);
        if (sdk !== null) texts.push(sdk);
      }
      return reply.type(registry.contentType).send(mergeExpositions(...texts));
    },
  );
};
