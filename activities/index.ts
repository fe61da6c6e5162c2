import type { CatalogDb } from '../catalog/db.js';
import type { ContentStore } from '../evidence/content-store.js';
import { catalogActivities } from './catalog.js';
import { deploymentActivities } from './deployment.js';
import type { monitoringActivities } from './monitoring.js';
import { scanningActivities } from './scanning.js';
import { testingActivities } from './testing.js';
import { webhookActivities } from './webhooks.js';
import { archiveActivities } from './archive.js';

export interface ActivityDeps {
  readonly db: CatalogDb;
  /** Where full reports go; history keeps their digests. */
  readonly evidence: ContentStore;
}

/** All activities of the lifecycle, grouped by concern and bound to their dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...catalogActivities(deps.db),
    ...testingActivities(deps.evidence),
    ...scanningActivities(deps.evidence),
    ...deploymentActivities(deps.db),
    ...webhookActivities(deps.db),
    ...archiveActivities(deps.evidence),
  };
}

export type LifecycleActivities = ReturnType<typeof createActivities>;
/** Heavy compute, run by compute workers on their own task queue. */
export type ComputeActivities = ReturnType<typeof monitoringActivities>;
