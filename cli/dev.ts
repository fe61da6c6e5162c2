import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { apiOptionsFrom, buildApi } from '../api/server.js';
import { createApiToken, revokeApiTokens } from '../api/tokens.js';
import { openCatalog } from '../catalog/db.js';
import { migrateToLatest } from '../catalog/migrate.js';
import { ContentStore } from '../evidence/content-store.js';
import type { Role } from '../core/principal.js';
import type { StewardConfig } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import { startDevServer } from '../platform/temporal-dev-server.js';
import { createTracing, installTemporalRuntime } from '../platform/telemetry.js';
import { failFastInterceptors, tracingClientInterceptors } from '../platform/temporal.js';
import { ensureHistoryArchiver } from '../workers/archiver.js';
import { createStewardWorker } from '../workers/worker.js';
import { isPortFree } from './ports.js';
import { createArtifactStager } from '../activities/runtime-staging.js';
import { startBuiltinRuntime } from '../runtimes/builtin/server.js';
import { createRuntimes, DEFAULT_RUNTIME_PORT, parseRuntimeTargets } from '../runtimes/targets.js';

const DEV_PRINCIPALS: readonly { principal: string; roles: Role[] }[] = [
  { principal: 'dev-engineer', roles: ['engineer'] },
  { principal: 'dev-approver', roles: ['approver:risk'] },
  { principal: 'dev-business', roles: ['approver:business'] },
  { principal: 'dev-auditor', roles: ['auditor'] },
  // Manages tokens over the API (`steward token create --token …`): the embedded catalog is this process's alone.
  { principal: 'dev-admin', roles: ['admin'] },
];

/** TEMPORAL_ADDRESS's port when it names this machine; else 7233 if free; else any free port. */
async function devServerPort(address: string): Promise<number | undefined> {
  const [host, port] = address.split(':');
  if (host && ['localhost', '127.0.0.1'].includes(host) && port && port !== '7233') return Number(port);
  return (await isPortFree(7233)) ? 7233 : undefined;
}

/**
 * The built-in runtime on STEWARD_RUNTIME_PORT; unset, on 8090, or on any free port when 8090 is taken (by
 * another process, or by a second `steward dev` starting at the same moment).
 */
async function startDevRuntime(repository: string) {
  const configured = process.env.STEWARD_RUNTIME_PORT;
  if (configured) return startBuiltinRuntime({ repository, host: '127.0.0.1', port: Number(configured) });
  try {
    return await startBuiltinRuntime({ repository, host: '127.0.0.1', port: DEFAULT_RUNTIME_PORT });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    return startBuiltinRuntime({ repository, host: '127.0.0.1', port: 0 });
  }
}

/** A loopback port nobody listens on now, for the SDK's metrics endpoint. */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * `steward dev`: the whole stack in one process on embedded defaults. A Temporal dev server keeping history
 * in a SQLite file, the catalog in embedded PGlite (or DATABASE_URL), the built-in model runtime, the worker
 * and the API with its scoring gateway.
 */
export async function runDev(config: StewardConfig): Promise<void> {
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, 'steward-dev');
  // Worker and API share this process: the SDK serves its metrics on loopback and the API's /metrics appends them.
  const sdkMetricsAddress = config.telemetry.workerMetricsAddress ?? `127.0.0.1:${await freeLoopbackPort()}`;
  installTemporalRuntime({ logger, metricsAddress: sdkMetricsAddress });
  const tracing = createTracing({ serviceName: 'steward-dev', ...(config.telemetry.otlpEndpoint ? { otlpEndpoint: config.telemetry.otlpEndpoint } : {}) });
  const dataDir = resolve(config.dataDir);
  await mkdir(dataDir, { recursive: true });

  const temporalPort = await devServerPort(config.temporal.address);
  const server = await startDevServer({ dbFilename: join(dataDir, 'temporal.db'), ui: true, ...(temporalPort ? { port: temporalPort } : {}) });
  const db = await openCatalog(config.catalog);
  const evidence = new ContentStore(resolve(config.evidenceDir));
  await migrateToLatest(db);

  const tokens: { principal: string; roles: Role[]; token: string }[] = [];
  for (const p of DEV_PRINCIPALS) {
    await revokeApiTokens(db, p.principal);
    tokens.push({ ...p, token: await createApiToken(db, p.principal, p.roles) });
  }

  // Deployments go to the built-in runtime, in this process, unless STEWARD_RUNTIMES names runtimes of its own.
  const builtin = process.env.STEWARD_RUNTIMES ? null : await startDevRuntime(join(dataDir, 'models'));
  const targets = builtin ? parseRuntimeTargets({ STEWARD_RUNTIMES: JSON.stringify({ default: { kind: 'builtin', url: builtin.url, repository: join(dataDir, 'models') } }) }) : config.runtimes;
  const runtimes = createRuntimes(targets, { stage: createArtifactStager(config.reading) });

  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const worker = await createStewardWorker({
    connection: nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    db,
    evidence,
    tracing,
    runtimes,
    reading: config.reading,
  });
  const connection = await Connection.connect({ address: server.address, interceptors: failFastInterceptors() });
  const client = new Client({ connection, namespace: config.temporal.namespace, interceptors: tracingClientInterceptors(tracing.tracer) });
  const options = apiOptionsFrom(config);
  const app = await buildApi({
    ...options,
    gateway: { ...options.gateway, targets },
    metrics: { ...options.metrics, sdkAddress: sdkMetricsAddress },
    client,
    db,
    evidence,
    logger,
    tracer: tracing.tracer,
  });
  await ensureHistoryArchiver(client, config.temporal.taskQueue, config.archiveIntervalMs);
  const apiAddress = await app.listen({ host: config.host, port: config.port });
  const running = worker.run();

  const engineerToken = tokens[0]!.token;
  process.stdout.write(
    [
      '',
      'Steward is running on embedded defaults.',
      `  API:          ${apiAddress}   (try: curl ${apiAddress}/health)`,
      `  Temporal:     ${server.address}   (history in ${join(dataDir, 'temporal.db')})`,
      `  Temporal UI:  ${server.uiAddress}`,
      `  Metrics:      ${apiAddress}/metrics   (${config.telemetry.metricsPublic ? 'no token' : 'any token'}; the SDK's own at http://${sdkMetricsAddress}/metrics)`,
      `  Catalog:      ${config.catalog.kind === 'embedded' ? `embedded PGlite in ${resolve(config.catalog.dataDir)}` : 'PostgreSQL (DATABASE_URL)'}`,
      `  Runtime:      ${builtin ? `built-in, ${builtin.url} (models in ${join(dataDir, 'models')})` : `STEWARD_RUNTIMES (${targets.names.join(', ')})`}`,
      `  Scoring:      ${apiAddress}/v2/models/<model>/infer   (Open Inference Protocol V2; any engineer token)`,
      '  API tokens (new on every start):',
      ...tokens.map((t) => `    ${t.principal.padEnd(13)} ${t.roles.join(',').padEnd(14)} ${t.token}`),
      '  Register, approve and score the example ONNX model:',
      `    STEWARD_API=${apiAddress} STEWARD_TOKEN=${engineerToken} npm run steward -- register examples/credit-scorer/manifest.yaml`,
      `    STEWARD_API=${apiAddress} STEWARD_TOKEN=${tokens.find((t) => t.principal === 'dev-approver')!.token} npm run steward -- approve credit-scorer@1.0.0 -m "evaluation reviewed"`,
      `    curl -H 'authorization: Bearer ${engineerToken}' -H 'content-type: application/json' -d @examples/credit-scorer/request.json ${apiAddress}/v2/models/credit-scorer/infer`,
      '  Create or revoke API tokens (through this API; the embedded catalog is not shared):',
      `    STEWARD_API=${apiAddress} STEWARD_TOKEN=${tokens.find((t) => t.principal === 'dev-admin')!.token} npm run steward -- token create --principal alice --role engineer`,
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await app.close();
    // The SDK already shuts the worker down on SIGINT/SIGTERM; only ask when it has not.
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
    await Promise.allSettled([connection.close(), nativeConnection.close(), db.destroy(), tracing.shutdown(), runtimes.close()]);
    await builtin?.close();
    await server.stop();
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  await running;
  await stop();
}
