import { Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/client';
import type { CatalogDb } from '../catalog/db.js';
import { projection, recordApprovalAttempt, recordStage, type RecordApprovalAttemptInput, type RegisterVersionInput } from '../catalog/projection.js';
import type { StageTransition } from '../core/stages.js';
import { stageEvent, type StewardEvent } from '../events/event.js';
import { deliveryWorkflowId, publishEvent } from '../events/publisher.js';

/**
 * The lifecycle's record-keeping activities: write the catalog projection and the matching event to
 * subscribers. A transition or attempt, its event and its pending webhook deliveries are one statement (one
 * round trip); the delivery workflows start after it. `reconcile` uses the projection alone, so rebuilding the
 * catalog never re-sends webhooks.
 */
export function catalogActivities(db: CatalogDb) {
  const project = projection(db);
  const publish = (event: StewardEvent) => publishEvent(db, Context.current().client, Context.current().info.taskQueue, event);
  /** One delivery workflow per subscriber, keyed by the event id: a retried activity starts none twice. */
  async function startDeliveries(eventId: string, subscriptionIds: readonly string[]): Promise<void> {
    const { client, info } = Context.current();
    for (const subscriptionId of subscriptionIds) {
      try {
        await client.workflow.start('webhookDelivery', {
          taskQueue: info.taskQueue,
          workflowId: deliveryWorkflowId(subscriptionId, eventId),
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          args: [{ subscriptionId, eventId }],
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    }
  }
  return {
    async registerVersion(input: RegisterVersionInput): Promise<void> {
      await project.registerVersion(input);
    },

    async recordStage(t: StageTransition): Promise<void> {
      const event = stageEvent(t);
      await startDeliveries(event.id, await recordStage(db, t, event));
    },

    async recordApprovalAttempt(input: RecordApprovalAttemptInput): Promise<void> {
      const { attempt } = input;
      const event: StewardEvent = {
        id: `${input.workflowId}/approval/${input.seq}`,
        type: 'approval.attempt',
        modelVersionId: input.modelVersionId,
        workflowId: input.workflowId,
        at: attempt.at,
        data: {
          principal: attempt.request.principal.id,
          roles: attempt.request.principal.roles,
          decision: attempt.request.decision,
          comment: attempt.request.comment,
          stage: attempt.stage,
          verdict: attempt.verdict,
        },
      };
      await startDeliveries(event.id, await recordApprovalAttempt(db, input, event));
    },

    /** Notifications that are not stage transitions: approval reminders and escalations. */
    async publishEvent(event: StewardEvent): Promise<void> {
      await publish(event);
    },
  };
}
