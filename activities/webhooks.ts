import http from 'node:http';
import https from 'node:https';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { CatalogDb } from '../catalog/db.js';
import { networkUrlRefusal, type NetworkPolicy } from '../core/uri-policy.js';
import { signWebhook } from '../events/signing.js';
import { guardedLookup, RefusedAddress, uriNotAllowed } from './uri-guard.js';

export interface DeliveryRef {
  readonly subscriptionId: string;
  readonly eventId: string;
}

/** How long one delivery attempt may take before it counts as failed. */
const ATTEMPT_TIMEOUT_MS = 10_000;

/**
 * One POST whose connection goes only to addresses the policy allows (checked at connect time, after DNS);
 * redirects are not followed. Answers the status code.
 */
export function post(url: string, headers: Record<string, string>, body: string, policy: NetworkPolicy): Promise<number> {
  const target = new URL(url);
  const refusal = networkUrlRefusal(target, policy);
  if (refusal) return Promise.reject(uriNotAllowed(url, refusal));
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(target, { method: 'POST', headers, lookup: guardedLookup(policy), signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS) }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err) => reject(err instanceof RefusedAddress ? uriNotAllowed(url, err.refusal) : err));
    req.end(body);
  });
}

/**
 * Webhook delivery, one HTTP attempt per activity attempt; Temporal's retry policy supplies the backoff.
 * A 2xx delivers. 408, 429, 5xx and network errors are retried; any other 4xx means the subscriber refuses
 * this event, so it is not retried. A URL that resolves to a loopback or private address (unless configured)
 * is refused before anything is sent, and not retried.
 */
export function webhookActivities(db: CatalogDb, policy: NetworkPolicy) {
  return {
    async deliverWebhook(ref: DeliveryRef): Promise<{ status: number }> {
      const [subscription, event, delivery] = await Promise.all([
        db.selectFrom('webhook_subscriptions').selectAll().where('id', '=', ref.subscriptionId).executeTakeFirst(),
        db.selectFrom('events').selectAll().where('id', '=', ref.eventId).executeTakeFirst(),
        db.selectFrom('webhook_deliveries').select('status').where('subscription_id', '=', ref.subscriptionId).where('event_id', '=', ref.eventId).executeTakeFirst(),
      ]);
      if (!subscription || subscription.disabled_at) throw ApplicationFailure.nonRetryable('subscription removed or disabled', 'SubscriptionGone');
      if (!event) throw ApplicationFailure.nonRetryable(`event ${ref.eventId} is not in the event log`, 'EventMissing');
      if (delivery?.status === 'delivered') return { status: 200 };

      const body = JSON.stringify({ id: event.id, type: event.type, modelVersionId: event.model_version_id, at: event.at.toISOString(), data: event.data });
      const timestamp = String(Math.floor(Date.now() / 1000));
      const attempt = Context.current().info.attempt;
      let status: number | null = null;
      let problem: string;
      let refused = false;
      try {
        const headers = {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'Steward-Webhooks/1',
          'x-steward-event-id': event.id,
          'x-steward-event-type': event.type,
          'x-steward-timestamp': timestamp,
          'x-steward-delivery-attempt': String(attempt),
          'x-steward-signature': signWebhook(subscription.secret, timestamp, body),
        };
        status = await post(subscription.url, headers, body, policy);
        problem = `HTTP ${status}`;
      } catch (err) {
        refused = err instanceof ApplicationFailure && err.nonRetryable === true;
        problem = (err as Error).message;
      }

      const delivered = status !== null && status >= 200 && status < 300;
      await db
        .updateTable('webhook_deliveries')
        .set({
          status: delivered ? 'delivered' : 'pending',
          attempts: attempt,
          last_status: status,
          last_error: delivered ? null : problem,
          delivered_at: delivered ? new Date() : null,
        })
        .where('subscription_id', '=', ref.subscriptionId)
        .where('event_id', '=', ref.eventId)
        .execute();
      if (delivered) return { status: status! };
      if (refused) throw ApplicationFailure.nonRetryable(problem, 'UriNotAllowed');
      const retryable = status === null || status === 408 || status === 429 || status >= 500;
      if (!retryable) throw ApplicationFailure.nonRetryable(`subscriber refused the event: ${problem}`, 'DeliveryRefused');
      throw ApplicationFailure.retryable(`delivery failed: ${problem}`, 'DeliveryFailed');
    },

    async markDeliveryFailed(input: DeliveryRef & { reason: string }): Promise<void> {
      await db
        .updateTable('webhook_deliveries')
        .set({ status: 'failed', last_error: input.reason })
        .where('subscription_id', '=', input.subscriptionId)
        .where('event_id', '=', input.eventId)
        .where('status', '!=', 'delivered')
        .execute();
    },
  };
}
