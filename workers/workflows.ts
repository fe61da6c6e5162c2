/**
 * The workflow bundle's entry: every workflow type the Steward worker runs, with the lifecycle built over the
 * released templates. It lives here, above both workflows/ and templates/, because templates are written in
 * the DSL under workflows/; bundled into the workflow sandbox, it is held to the workflow lint rules.
 */
import { templates } from '../templates/index.js';
import { defineLifecycle } from '../workflows/lifecycle.js';

/** The lifecycle over the released templates. */
export const modelLifecycle = defineLifecycle(templates);
export { webhookDelivery } from '../workflows/webhook-delivery.js';
export { historyArchiver } from '../workflows/history-archiver.js';
export { batchScoring } from '../workflows/batch-scoring.js';
