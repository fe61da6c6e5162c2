import { Context } from '@temporalio/activity';
import type { CatalogDb } from '../catalog/db.js';
import { projection, type RecordApprovalAttemptInput, type RegisterVersionInput } from '../catalog/projection.js';
import type { StageTransition } from '../core/stages.js';
import { stageEvent, type StewardEvent } from '../events/event.js';
import { publishEvent } from '../events/publisher.js';

/**
 * The lifecycle's record-keeping activities: write the catalog projection, then publish the matching event
 * to subscribers. `reconcile` uses the projection alone, so rebuilding the catalog never re-sends webhooks.
 */
export function catalogActivities(db: CatalogDb) {
  const project = projection(db);
  const publish = (event: StewardEvent) => publishEvent(db, Context.current().client, Context.current().info.taskQueue, event);
  return {
    async registerVersion(input: RegisterVersionInput): Promise<void> {
      await project.registerVersion(input);
    },

    async recordStage(t: StageTransition): Promise<void> {
      await project.recordStage(t);
      await publish(stageEvent(t));
    },

    async recordApprovalAttempt(input: RecordApprovalAttemptInput): Promise<void> {
      await project.recordApprovalAttempt(input);
      const { attempt } = input;
      await publish({
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
      });
    },

    /** Notifications that are not stage transitions: approval reminders and escalations. */
    async publishEvent(event: StewardEvent): Promise<void> {
      await publish(event);
    },
  };
}
