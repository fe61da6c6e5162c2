import type { CatalogDb } from '../catalog/db.js';
import { catalogActivities } from './catalog.js';
import { deploymentActivities } from './deployment.js';
import { scanningActivities } from './scanning.js';
import { testingActivities } from './testing.js';

export interface ActivityDeps {
  readonly db: CatalogDb;
}

/** All activities of the lifecycle, grouped by concern and bound to their dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...catalogActivities(deps.db),
    ...testingActivities(),
    ...scanningActivities(),
    ...deploymentActivities(deps.db),
  };
}

export type LifecycleActivities = ReturnType<typeof createActivities>;
