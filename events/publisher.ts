import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { sql } from 'kysely';
import type { CatalogDb } from '../catalog/db.js';
import type { StewardEvent } from './event.js';

/** One delivery workflow per subscriber and event; its id is the deduplication key. */
export const deliveryWorkflowId = (subscriptionId: string, eventId: string) => `webhook:${subscriptionId}:${eventId}`;

/**
 * Appends the event to the event log and starts one delivery workflow per matching subscriber. Delivery runs
 * on its own, with its own retries, so a slow or failing subscriber never holds up a lifecycle. Idempotent:
 * the event row and each delivery workflow are keyed by the event id.
 */
export async function publishEvent(db: CatalogDb, client: Client, taskQueue: string, event: StewardEvent): Promise<void> {
  await db
    .insertInto('events')
    .values({
      id: event.id,
      type: event.type,
      model_version_id: event.modelVersionId,
      workflow_id: event.workflowId,
      at: event.at,
      data: JSON.stringify(event.data),
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();

  const subscriptions = await db
    .selectFrom('webhook_subscriptions')
    .select('id')
    .where('disabled_at', 'is', null)
    .where((eb) => eb.or([sql<boolean>`event_types = '[]'::jsonb`, sql<boolean>`event_types @> ${JSON.stringify([event.type])}::jsonb`]))
    .execute();
  for (const { id } of subscriptions) {
    await db
      .insertInto('webhook_deliveries')
      .values({ subscription_id: id, event_id: event.id, status: 'pending', last_status: null, last_error: null, delivered_at: null })
      .onConflict((oc) => oc.columns(['subscription_id', 'event_id']).doNothing())
      .execute();
    try {
      await client.workflow.start('webhookDelivery', {
        taskQueue,
        workflowId: deliveryWorkflowId(id, event.id),
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        args: [{ subscriptionId: id, eventId: event.id }],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
}
