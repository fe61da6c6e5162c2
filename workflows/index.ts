/** The workflow bundle's entry: every workflow type the Steward worker runs. */
export { modelLifecycle } from './lifecycle.js';
export { webhookDelivery } from './webhook-delivery.js';
export { historyArchiver } from './history-archiver.js';
