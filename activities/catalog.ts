import type { CatalogDb } from '../catalog/db.js';
import type { ModelManifest } from '../core/manifest.js';
import type { Principal } from '../core/principal.js';
import type { StageTransition } from '../core/stages.js';
import type { ApprovalAttempt } from '../workflows/messages.js';

export interface RegisterVersionInput {
  readonly workflowId: string;
  readonly modelVersionId: string;
  readonly manifest: ModelManifest;
  readonly registeredBy: Principal;
  readonly parentModelVersionId: string | null;
  readonly at: string;
}

/**
 * Catalog projection writers. Each is idempotent (keyed by workflow id and sequence number), so a retried
 * activity or a replayed history never writes a row twice.
 */
export function catalogActivities(db: CatalogDb) {
  return {
    async registerVersion(input: RegisterVersionInput): Promise<void> {
      const { manifest } = input;
      await db
        .insertInto('model_versions')
        .values({
          id: input.modelVersionId,
          name: manifest.name,
          version: manifest.version,
          owner: manifest.owner,
          kind: manifest.kind,
          risk_tier: manifest.riskTier,
          workflow_id: input.workflowId,
          manifest: JSON.stringify(manifest),
          registered_by: input.registeredBy.id,
          parent_id: input.parentModelVersionId,
          stage: 'register',
          created_at: input.at,
          updated_at: input.at,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    },

    async recordStage(t: StageTransition): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const inserted = await trx
          .insertInto('stage_transitions')
          .values({
            workflow_id: t.workflowId,
            seq: t.seq,
            model_version_id: t.modelVersionId,
            stage: t.stage,
            outcome: t.outcome,
            actor: t.actor,
            detail: JSON.stringify(t.detail),
            at: t.at,
          })
          .onConflict((oc) => oc.columns(['workflow_id', 'seq']).doNothing())
          .executeTakeFirst();
        if (inserted.numInsertedOrUpdatedRows === 0n) return;
        await trx
          .updateTable('model_versions')
          .set({ stage: t.stage, updated_at: t.at })
          .where('id', '=', t.modelVersionId)
          .where('updated_at', '<=', new Date(t.at))
          .execute();
      });
    },

    async recordApprovalAttempt(input: {
      workflowId: string;
      modelVersionId: string;
      seq: number;
      attempt: ApprovalAttempt;
    }): Promise<void> {
      const { attempt } = input;
      await db
        .insertInto('approval_attempts')
        .values({
          workflow_id: input.workflowId,
          seq: input.seq,
          model_version_id: input.modelVersionId,
          principal: attempt.request.principal.id,
          roles: JSON.stringify(attempt.request.principal.roles),
          decision: attempt.request.decision,
          comment: attempt.request.comment,
          status: attempt.verdict.status,
          refusal_reason: attempt.verdict.status === 'refused' ? attempt.verdict.reason : null,
          at: attempt.at,
        })
        .onConflict((oc) => oc.columns(['workflow_id', 'seq']).doNothing())
        .execute();
    },
  };
}
