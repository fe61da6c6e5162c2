import { openCatalog } from '../catalog/db.js';
import { migrateToLatest } from '../catalog/migrate.js';
import { ContentStore } from '../evidence/content-store.js';
import { loadConfig } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import { createTracing } from '../platform/telemetry.js';
import { connectClient } from '../platform/temporal.js';
import { apiOptionsFrom, buildApi } from './server.js';

/** API process: `npm run api`. Configured by TEMPORAL_*, DATABASE_URL, HOST and PORT. */
const config = loadConfig();
const logger = createLogger(config.logLevel, 'steward-api');
const db = await openCatalog(config.catalog);
await migrateToLatest(db);
const tracing = createTracing({ serviceName: 'steward-api', ...(config.telemetry.otlpEndpoint ? { otlpEndpoint: config.telemetry.otlpEndpoint } : {}) });
const client = await connectClient(config.temporal, { failFast: true, tracer: tracing.tracer });
const evidence = new ContentStore(config.evidenceDir);
const app = await buildApi({ ...apiOptionsFrom(config), client, db, evidence, logger, tracer: tracing.tracer });
const address = await app.listen({ host: config.host, port: config.port });
logger.info({ address }, 'api listening');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void app.close().then(() => Promise.all([db.destroy(), client.connection.close(), tracing.shutdown()]));
  });
}
