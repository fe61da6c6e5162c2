import type { CatalogDb } from '../catalog/db.js';

export interface Deployment {
  readonly deploymentId: string;
  readonly target: string;
  readonly since: string;
}

export interface DeployInput {
  readonly deploymentId: string;
  readonly modelName: string;
  readonly modelVersionId: string;
  readonly target: string;
  readonly at: string;
}

export interface EndDeploymentInput {
  readonly deploymentId: string;
  readonly at: string;
  readonly reason: string;
}

/**
 * Makes this version the live one on its target, ending whichever version served there before, in one
 * transaction. Idempotent: a retry after a crash, a concurrent retry, or `reconcile` replaying the history
 * finds the row and changes nothing.
 */
export async function projectDeployment(db: CatalogDb, input: DeployInput): Promise<Deployment> {
  return db.transaction().execute(async (trx) => {
    const alreadyDone = await trx.selectFrom('deployments').select('id').where('id', '=', input.deploymentId).executeTakeFirst();
    if (!alreadyDone) {
      await trx
        .updateTable('deployments')
        .set({ to_time: input.at, end_reason: `replaced by ${input.modelVersionId}` })
        .where('model_name', '=', input.modelName)
        .where('target', '=', input.target)
        .where('to_time', 'is', null)
        .where('id', '!=', input.deploymentId)
        .execute();
      // A concurrent retry of the same activity may insert first; its row is the same deployment.
      await trx
        .insertInto('deployments')
        .values({
          id: input.deploymentId,
          model_name: input.modelName,
          model_version_id: input.modelVersionId,
          target: input.target,
          strategy: 'replace',
          traffic_share: 1,
          from_time: input.at,
          to_time: null,
          end_reason: null,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    }
    const row = await trx
      .selectFrom('deployments')
      .select(['id', 'target', 'from_time'])
      .where('id', '=', input.deploymentId)
      .executeTakeFirstOrThrow();
    return { deploymentId: row.id, target: row.target, since: row.from_time.toISOString() };
  });
}

/** Ends a deployment that is still live; a no-op once it has ended (for example, replaced by a successor). */
export async function projectDeploymentEnd(db: CatalogDb, input: EndDeploymentInput): Promise<void> {
  await db
    .updateTable('deployments')
    .set({ to_time: input.at, end_reason: input.reason })
    .where('id', '=', input.deploymentId)
    .where('to_time', 'is', null)
    .execute();
}

/**
 * Deployment bookkeeping in the catalog: which version serves on which target, from when to when. This is
 * what "what was in production at time T" is answered from. Runtime calls (MLServer and friends) arrive with
 * the runtimes issue and will sit in front of these writes.
 */
export function deploymentActivities(db: CatalogDb) {
  return {
    async deployVersion(input: DeployInput): Promise<Deployment> {
      return projectDeployment(db, input);
    },

    /**
     * One monitor cycle's health check: has this deployment been ended (replaced) behind the lifecycle's back?
     * A missing row means the catalog is being rebuilt, not that the model left production.
     */
    async probeDeployment(input: { deploymentId: string }): Promise<{ ended: boolean; endReason: string | null }> {
      const row = await db
        .selectFrom('deployments')
        .select(['to_time', 'end_reason'])
        .where('id', '=', input.deploymentId)
        .executeTakeFirst();
      return { ended: row?.to_time != null, endReason: row?.end_reason ?? null };
    },

    async endDeployment(input: EndDeploymentInput): Promise<void> {
      await projectDeploymentEnd(db, input);
    },
  };
}
