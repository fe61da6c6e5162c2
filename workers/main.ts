import { openCatalog } from '../catalog/db.js';
import { migrateToLatest } from '../catalog/migrate.js';
import { ContentStore } from '../evidence/content-store.js';
import { loadConfig } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import { connectClient, connectWorker } from '../platform/temporal.js';
import { ensureHistoryArchiver } from './archiver.js';
import { createStewardWorker } from './worker.js';

/** Worker process: `npm run worker`. Configured by TEMPORAL_* and DATABASE_URL. */
const config = loadConfig();
const logger = createLogger(config.logLevel, 'steward-worker');
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
});
if (config.workerRole !== 'compute') {
  const client = await connectClient(config.temporal);
  await ensureHistoryArchiver(client, config.temporal.taskQueue, config.archiveIntervalMs);
  await client.connection.close();
}
logger.info({ taskQueue: config.temporal.taskQueue, role: config.workerRole, address: config.temporal.address }, 'worker started');
await worker.run();
await db.destroy();
await connection.close();
