/** The workflow bundle's entry: every workflow type the Steward worker runs. */
import { templates } from '../templates/index.js';
import { defineLifecycle } from './lifecycle.js';

/** The lifecycle over the released templates. */
export const modelLifecycle = defineLifecycle(templates);
export { webhookDelivery } from './webhook-delivery.js';
export { historyArchiver } from './history-archiver.js';
