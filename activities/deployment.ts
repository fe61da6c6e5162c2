import { projectDeployment, projectDeploymentEnd } from '../catalog/projection.js';
import type { Deployment, DeployInput, EndDeploymentInput } from '../core/deployment.js';
import type { CatalogDb } from '../catalog/db.js';

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

export type { Deployment, DeployInput, EndDeploymentInput };
