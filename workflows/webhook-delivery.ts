import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { DeliveryRef } from '../activities/webhooks.js';
import type { LifecycleActivities } from '../activities/index.js';

/** Backoff: 1 s, 2 s, 4 s, … up to 10 min between attempts, for about a day in all. */
const { deliverWebhook } = proxyActivities<LifecycleActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 150 },
});
const { markDeliveryFailed } = proxyActivities<LifecycleActivities>({ startToCloseTimeout: '30 seconds' });

/**
 * Delivers one event to one subscriber. It runs apart from the lifecycle that emitted the event, so a failing
 * subscriber delays only its own deliveries. Its workflow id (`webhook:<subscription>:<event>`) makes a
 * second delivery of the same event impossible.
 */
export async function webhookDelivery(ref: DeliveryRef): Promise<'delivered' | 'failed'> {
  try {
    await deliverWebhook(ref);
    return 'delivered';
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    await markDeliveryFailed({ ...ref, reason: err.cause?.message ?? err.message });
    return 'failed';
  }
}
