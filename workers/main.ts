import { openCatalog } from '../catalog/db.js';
import { migrateToLatest } from '../catalog/migrate.js';
import { ContentStore } from '../evidence/content-store.js';
import { loadConfig } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import { createTracing, installTemporalRuntime } from '../platform/telemetry.js';
import { connectClient, connectWorker } from '../platform/temporal.js';
import { ensureHistoryArchiver } from './archiver.js';
import { createStewardWorker } from './worker.js';

/** Worker process: `npm run worker`. Configured by TEMPORAL_* and DATABASE_URL. */
const config = loadConfig();
const logger = createLogger(config.logLevel, 'steward-worker');
// On these signals the SDK shuts the workers down: running activities get the grace time, then are cancelled
// (reads abort at once), and the process exits below.
const SHUTDOWN_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGQUIT'];
// SDK logs go to pino; its Prometheus metrics are served at STEWARD_WORKER_METRICS_ADDRESS when set.
installTemporalRuntime({ logger, shutdownSignals: SHUTDOWN_SIGNALS, ...(config.telemetry.workerMetricsAddress ? { metricsAddress: config.telemetry.workerMetricsAddress } : {}) });
const tracing = createTracing({ serviceName: 'steward-worker', ...(config.telemetry.otlpEndpoint ? { otlpEndpoint: config.telemetry.otlpEndpoint } : {}) });
/** Past grace time and the SDK's forced shutdown, whatever still holds the process does not. */
const EXIT_DEADLINE_MS = config.shutdownGraceMs + 10_000;
for (const signal of SHUTDOWN_SIGNALS) {
  process.once(signal, () => {
    logger.info({ signal, graceMs: config.shutdownGraceMs }, 'worker stopping');
    setTimeout(() => {
      logger.error('worker did not stop in time; exiting');
      process.exit(1);
    }, EXIT_DEADLINE_MS).unref();
  });
}

if (config.catalog.kind === 'embedded') {
  logger.warn('no DATABASE_URL: the embedded catalog is single-process; use `steward dev` or set DATABASE_URL');
}
const db = await openCatalog(config.catalog);
await migrateToLatest(db);
const connection = await connectWorker(config.temporal);
const worker = await createStewardWorker({
  connection,
  namespace: config.temporal.namespace,
  taskQueue: config.temporal.taskQueue,
  db,
  evidence: new ContentStore(config.evidenceDir),
  role: config.workerRole,
  reading: config.reading,
  shutdownGraceMs: config.shutdownGraceMs,
  tuning: config.workerTuning,
  tracing,
});
if (config.workerRole !== 'compute') {
  const client = await connectClient(config.temporal, { tracer: tracing.tracer });
  await ensureHistoryArchiver(client, config.temporal.taskQueue, config.archiveIntervalMs);
  await client.connection.close();
}
logger.info(
  { taskQueue: config.temporal.taskQueue, role: config.workerRole, tuning: config.workerTuning, address: config.temporal.address, metrics: config.telemetry.workerMetricsAddress ?? null },
  'worker started',
);
let exitCode = 0;
try {
  await worker.run();
} catch (err) {
  logger.error({ err }, 'worker failed');
  exitCode = 1;
}
await Promise.allSettled([db.destroy(), connection.close(), tracing.shutdown()]);
logger.info('worker stopped');
process.exit(exitCode);
