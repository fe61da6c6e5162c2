import { join } from 'node:path';
import { pino } from 'pino';
import { startBuiltinRuntime } from './server.js';

/**
 * `npm run runtime`: the built-in runtime as its own process.
 *   STEWARD_RUNTIME_PORT        (8090)
 *   STEWARD_RUNTIME_HOST        (127.0.0.1)
 *   STEWARD_RUNTIME_REPOSITORY  (<STEWARD_DATA_DIR or .steward>/models)
 */
const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' });

function port(value: string | undefined): number {
  if (value === undefined || value === '') return 8090;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) {
    logger.fatal(`STEWARD_RUNTIME_PORT must be a port number (0-65535), got "${value}"`);
    process.exit(2);
  }
  return n;
}

const repository = process.env.STEWARD_RUNTIME_REPOSITORY || join(process.env.STEWARD_DATA_DIR || '.steward', 'models');
const runtime = await startBuiltinRuntime({
  repository,
  host: process.env.STEWARD_RUNTIME_HOST || '127.0.0.1',
  port: port(process.env.STEWARD_RUNTIME_PORT),
  logger,
});
logger.info({ url: runtime.url, repository }, 'built-in runtime listening');

let closing = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'built-in runtime closing');
    runtime.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'built-in runtime did not close cleanly');
        process.exit(1);
      },
    );
  });
}
