import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../api/tokens.js';
import { deliveryWorkflowId, publishEvent } from '../../events/publisher.js';
import { verifyWebhook } from '../../events/signing.js';
import { lifecycleWorkflowId } from '../../core/model-id.js';
import { statusQuery } from '../../workflows/messages.js';
import { sampleManifest } from '../harness/manifests.js';
import {
  eventually,
  startTestStack,
  terminateRunning,
  type TestApi,
  type TestDatabase,
  type TestStack,
} from '../harness/index.js';
import { testReadSettings } from '../harness/reading.js';

interface Received {
  readonly path: string;
  readonly eventId: string;
  readonly type: string;
  readonly attempt: number;
  readonly answered: number;
  readonly signatureValid: boolean;
  readonly body: { id: string; type: string; data: Record<string, unknown> };
}

/**
 * A real HTTP receiver on loopback with three endpoints: /flaky answers 500 to the first attempt of each
 * event and 200 after; /down always answers 500; /gone answers 410.
 */
function startReceiver(secrets: Record<string, string>): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const seen = new Set<string>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const path = req.url ?? '/';
      const eventId = String(req.headers['x-steward-event-id']);
      let answered = 200;
      if (path === '/down') answered = 500;
      else if (path === '/gone') answered = 410;
      else if (!seen.has(eventId)) {
        seen.add(eventId);
        answered = 500;
      }
      const signatureValid = verifyWebhook(secrets[path] ?? '', String(req.headers['x-steward-timestamp']), body, String(req.headers['x-steward-signature']));
      received.push({
        path,
        eventId,
        type: String(req.headers['x-steward-event-type']),
        attempt: Number(req.headers['x-steward-delivery-attempt']),
        answered,
        signatureValid,
        body: JSON.parse(body) as Received['body'],
      });
      res.writeHead(answered).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received })),
  );
}

describe('events and webhooks', () => {
  let client: Client;
  let database: TestDatabase;
  let stack: TestStack;
  let api: TestApi;
  let taskQueue: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const secrets = { '/flaky': 'flaky-secret-0123456789', '/down': 'down-secret-0123456789', '/gone': 'gone-secret-0123456789' };

  beforeAll(async () => {
    // The receiver is on loopback, which webhook URLs may reach only when configured.
    stack = await startTestStack('webhooks', { reading: testReadSettings({ privateNetworks: ['127.0.0.1/32'] }) });
    ({ client, database, api, taskQueue } = stack);
    receiver = await startReceiver(secrets);
  });

  afterAll(async () => {
    await stack?.stop();
    receiver?.server.close();
  });

  it('signs deliveries, retries after a 500, gives up on a 410, never blocks the lifecycle, and delivers each event once', async () => {
    const admin = await createApiToken(database.db, 'root', ['admin']);
    const engineer = await createApiToken(database.db, 'erin', ['engineer']);
    const subscribe = (path: keyof typeof secrets, events: string[]) =>
      api.call('POST', '/webhooks', { token: admin, body: { url: `${receiver.url}${path}`, secret: secrets[path], events } });
    const flaky = await subscribe('/flaky', []);
    expect(flaky.status).toBe(201);
    expect(flaky.body).not.toHaveProperty('secret');
    await subscribe('/down', []);
    await subscribe('/gone', ['stage.transition']);
    expect((await api.call('POST', '/webhooks', { token: engineer, body: { url: `${receiver.url}/x`, secret: 'x'.repeat(16) } })).status).toBe(403);
    const listed = await api.call('GET', '/webhooks', { token: admin });
    expect(listed.body.items).toHaveLength(3);
    expect(JSON.stringify(listed.body)).not.toContain('secret-0123456789');

    const manifest = await sampleManifest();
    await api.call('POST', '/models', { token: engineer, body: manifest });
    const handle = client.workflow.getHandle(lifecycleWorkflowId({ name: manifest.name, version: '1.0.0' }));
    // /down fails every delivery, yet the lifecycle reaches its approval gate.
    await eventually('the approval gate', async () => ((await handle.query(statusQuery)).gate ? true : undefined));

    const transitions = ['register', 'test', 'scan', 'approval'];
    const delivered = await eventually(
      'every transition delivered to /flaky after a retry',
      async () => {
        const ok = receiver.received.filter((r) => r.path === '/flaky' && r.answered === 200 && r.type === 'stage.transition');
        return transitions.every((s) => ok.some((r) => r.body.data.stage === s)) ? ok : undefined;
      },
      { timeoutMs: 30_000 },
    );
    for (const r of delivered) {
      expect(r.signatureValid).toBe(true);
      expect(r.attempt).toBe(2);
      const first = receiver.received.find((x) => x.path === '/flaky' && x.eventId === r.eventId && x.attempt === 1);
      expect(first?.answered).toBe(500);
    }
    expect(receiver.received.every((r) => r.signatureValid)).toBe(true);

    // The same event published again (a retried activity) is not delivered again: publishing finds the event's
    // delivery workflow already run and starts none, so nothing more can arrive once it returns.
    const event = await database.db.selectFrom('events').selectAll().where('id', '=', delivered[0]!.eventId).executeTakeFirstOrThrow();
    const flakyRow = await database.db.selectFrom('webhook_subscriptions').select('id').where('url', 'like', '%/flaky').executeTakeFirstOrThrow();
    const delivery = client.workflow.getHandle(deliveryWorkflowId(flakyRow.id, event.id));
    const before = await delivery.describe();
    expect(before.status.name).toBe('COMPLETED');
    await publishEvent(database.db, client, taskQueue, {
      id: event.id,
      type: event.type,
      modelVersionId: event.model_version_id,
      workflowId: event.workflow_id,
      at: event.at.toISOString(),
      data: event.data,
    });
    const after = await delivery.describe();
    expect([after.runId, after.status.name]).toEqual([before.runId, 'COMPLETED']);
    expect(receiver.received.filter((r) => r.path === '/flaky' && r.eventId === event.id)).toHaveLength(2);

    // /gone refused with 410: one attempt per event, then marked failed.
    const gone = await eventually('/gone deliveries marked failed', async () => {
      const rows = await database.db
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_subscriptions as s', 's.id', 'd.subscription_id')
        .select(['d.status', 'd.attempts', 'd.last_status'])
        .where('s.url', 'like', '%/gone')
        .execute();
      return rows.length >= 4 && rows.every((r) => r.status === 'failed') ? rows : undefined;
    });
    expect(gone.every((r) => r.attempts === 1 && r.last_status === 410)).toBe(true);
    // /down keeps being retried in the background.
    const down = await database.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_subscriptions as s', 's.id', 'd.subscription_id')
      .select(['d.status', 'd.attempts'])
      .where('s.url', 'like', '%/down')
      .execute();
    expect(down.every((r) => r.status === 'pending')).toBe(true);
    expect(Math.max(...down.map((r) => r.attempts))).toBeGreaterThanOrEqual(2);

    const log = await api.call('GET', `/events?modelVersionId=${manifest.name}@1.0.0`, { token: engineer });
    expect(log.body.items.map((e: { type: string }) => e.type)).toContain('stage.transition');

    // Removing a subscription stops its deliveries.
    expect((await api.call('DELETE', `/webhooks/${flaky.body.id}`, { token: admin })).status).toBe(204);
    expect((await api.call('DELETE', `/webhooks/${flaky.body.id}`, { token: admin })).status).toBe(404);
    await handle.terminate('test over');
    await terminateRunning(client, taskQueue);
  }, 60_000);
});
