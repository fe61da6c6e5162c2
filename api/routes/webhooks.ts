import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { queryText } from './params.js';
import { EVENT_TYPES } from '../../events/event.js';
import { anyRole, authorize, isRole, principalOf } from '../auth.js';
import { ApiError } from '../errors.js';
import type { RouteDeps } from '../server.js';
import { assertCallable } from '../uri-check.js';

const subscriptionBody = z.strictObject({
  url: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }),
  secret: z.string().min(16, 'must be at least 16 characters').max(512),
  /** Event types to receive; all when absent or empty. */
  events: z.array(z.enum(EVENT_TYPES)).max(EVENT_TYPES.length).default([]),
});

const eventsQuery = z.strictObject({
  modelVersionId: queryText().optional(),
  type: z.enum(EVENT_TYPES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** Webhook subscriptions (admins) and the event log they are fed from (any role). */
export const webhookRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, authenticate, readPolicy }) => {
  const admin = authorize(authenticate, isRole('admin'), 'admin');

  app.post('/webhooks', { schema: { body: subscriptionBody }, onRequest: admin }, async (request, reply) => {
    await assertCallable('body.url', request.body.url, readPolicy);
    const id = randomUUID();
    await db
      .insertInto('webhook_subscriptions')
      .values({
        id,
        url: request.body.url,
        secret: request.body.secret,
        event_types: JSON.stringify(request.body.events),
        created_by: principalOf(request).id,
        disabled_at: null,
      })
      .execute();
    // The secret is never sent back.
    return reply.status(201).send({ id, url: request.body.url, events: request.body.events });
  });

  app.get('/webhooks', { onRequest: admin }, async () => {
    const rows = await db
      .selectFrom('webhook_subscriptions')
      .select(['id', 'url', 'event_types', 'created_by', 'created_at', 'disabled_at'])
      .orderBy('created_at')
      .execute();
    return {
      items: rows.map((r) => ({
        id: r.id,
        url: r.url,
        events: r.event_types,
        createdBy: r.created_by,
        createdAt: r.created_at.toISOString(),
        disabledAt: r.disabled_at?.toISOString() ?? null,
      })),
    };
  });

  app.delete('/webhooks/:id', { schema: { params: z.object({ id: z.uuid('must be a subscription id') }) }, onRequest: admin }, async (request, reply) => {
    const result = await db
      .updateTable('webhook_subscriptions')
      .set({ disabled_at: new Date() })
      .where('id', '=', request.params.id)
      .where('disabled_at', 'is', null)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw new ApiError(404, 'subscription_not_found', `no active subscription ${request.params.id}`);
    return reply.status(204).send();
  });

  app.get('/events', { schema: { querystring: eventsQuery }, onRequest: authorize(authenticate, anyRole, 'any role') }, async (request) => {
    let query = db.selectFrom('events').selectAll();
    if (request.query.modelVersionId) query = query.where('model_version_id', '=', request.query.modelVersionId);
    if (request.query.type) query = query.where('type', '=', request.query.type);
    const rows = await query.orderBy('at', 'desc').orderBy('id', 'desc').limit(request.query.limit).execute();
    return { items: rows.map((r) => ({ id: r.id, type: r.type, modelVersionId: r.model_version_id, at: r.at.toISOString(), data: r.data })) };
  });
};
