import { createServer } from 'node:net';
import { pino } from 'pino';
import { installTemporalRuntime } from '../../platform/telemetry.js';

/**
 * Import first in a test file that needs the Temporal SDK's Prometheus metrics in-process, as `steward dev`
 * serves them: installs the Runtime (SDK logs to pino at warn, like the harness's quiet default) before the
 * harness would install its own.
 */
const port = await new Promise<number>((resolve, reject) => {
  const server = createServer();
  server.once('error', reject);
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    server.close(() => resolve(port));
  });
});

export const sdkMetricsAddress = `127.0.0.1:${port}`;
installTemporalRuntime({ logger: pino({ level: 'warn' }), metricsAddress: sdkMetricsAddress });
