import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../api/tokens.js';
import { startDevServer, type DevServer } from '../../platform/temporal-dev-server.js';
import { failFastInterceptors } from '../../platform/temporal.js';
import { startPostgresCluster, type PostgresCluster } from '../harness/postgres-cluster.js';
import { createTestDatabase, startTestApi, type TestApi, type TestDatabase } from '../harness/index.js';
import { sampleManifest } from '../harness/manifests.js';

/**
 * Outages of the API's dependencies, for real: a Temporal dev server and a PostgreSQL cluster of this test's
 * own, each stopped while the API keeps running. Callers get 503 naming the dependency, with Retry-After,
 * never a 500.
 */
describe('outages', () => {
  let temporal: DevServer;
  let postgres: PostgresCluster;
  let database: TestDatabase;
  let client: Client;
  let api: TestApi;
  let engineer: string;
  const stopped = new Set<'temporal' | 'postgres'>();

  beforeAll(async () => {
    [temporal, postgres] = await Promise.all([startDevServer(), startPostgresCluster()]);
    database = await createTestDatabase(postgres.url);
    // Connected as the API process connects (api/main.ts), so outages surface as they would there.
    client = new Client({ connection: await Connection.connect({ address: temporal.address, interceptors: failFastInterceptors() }), namespace: 'default' });
    api = await startTestApi({ client, database, taskQueue: 'outages' });
    engineer = await createApiToken(database.db, 'erin', ['engineer']);
  }, 120_000);

  afterAll(async () => {
    await api?.close();
    await client?.connection.close();
    await database?.db.destroy().catch(() => undefined);
    // Each test stops its dependency; stop whatever a failing test left running.
    if (!stopped.has('temporal')) await temporal?.stop();
    if (!stopped.has('postgres')) await postgres?.stop();
  });

  it('answers 503 temporal_unavailable with Retry-After while Temporal is down', async () => {
    expect((await api.call('GET', '/models/nothing-here@1.0.0', { token: engineer })).status).toBe(404);
    await temporal.stop();
    stopped.add('temporal');
    const started = Date.now();
    const read = await fetch(`${api.baseUrl}/models/nothing-here@1.0.0`, { headers: { authorization: `Bearer ${engineer}` } });
    expect(read.status).toBe(503);
    expect(read.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await read.json()) as { error: { code: string } }).error.code).toBe('temporal_unavailable');
    expect(Date.now() - started).toBeLessThan(10_000);
    const register = await api.call('POST', '/models', { token: engineer, body: await sampleManifest() });
    expect([register.status, register.body.error.code]).toEqual([503, 'temporal_unavailable']);
    const health = await api.call('GET', '/health');
    expect([health.status, health.body.temporal, health.body.catalog]).toEqual([503, 'unreachable', 'ok']);
  });

  it('answers 503 catalog_unavailable with Retry-After while PostgreSQL is down', async () => {
    await postgres.stop();
    stopped.add('postgres');
    for (const path of ['/models', '/approvals', '/production', '/events']) {
      const res = await fetch(`${api.baseUrl}${path}`, { headers: { authorization: `Bearer ${engineer}` } });
      expect([path, res.status]).toEqual([path, 503]);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('catalog_unavailable');
    }
  });
});
