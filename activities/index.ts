import type { CatalogDb } from '../catalog/db.js';
import type { ContentStore } from '../evidence/content-store.js';
import { catalogActivities } from './catalog.js';
import { deploymentActivities, type RuntimeLookup } from './deployment.js';
import type { batchScoringActivities } from './batch-scoring.js';
import type { monitoringActivities } from './monitoring.js';
import type { trainingActivities } from './training/index.js';
import { scanningActivities } from './scanning.js';
import { testingActivities } from './testing.js';
import { webhookActivities } from './webhooks.js';
import { archiveActivities } from './archive.js';
import type { ReadSettings } from './read-uri.js';
import { labelActivities } from './live-monitoring.js';
import type { challengeActivities } from './challenge.js';

export interface ActivityDeps {
  readonly db: CatalogDb;
  /** Where full reports go; history keeps their digests. */
  readonly evidence: ContentStore;
  /** Where artifacts may be read from and how much; webhooks use its network rules. */
  readonly reading: ReadSettings;
  /** The runtime serving each deployment target. */
  readonly runtimes: RuntimeLookup;
  /** How long a retirement drains before it unloads (core/routing-drain.ts); the gateway's default TTL's when absent. */
  readonly routingDrainMs?: number;
}

/** All activities of the lifecycle, grouped by concern and bound to their dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...catalogActivities(deps.db),
    ...testingActivities(deps.evidence),
    ...scanningActivities(deps.evidence, deps.reading),
    ...deploymentActivities(deps.db, deps.runtimes, deps.reading, deps.routingDrainMs !== undefined ? { routingDrainMs: deps.routingDrainMs } : {}),
    ...webhookActivities(deps.db, deps.reading.policy),
    ...archiveActivities(deps.evidence),
    ...labelActivities(deps.db),
  };
}

export type LifecycleActivities = ReturnType<typeof createActivities>;
/** Heavy compute, run by compute workers on their own task queue. */
export type ComputeActivities = ReturnType<typeof monitoringActivities> &
  ReturnType<typeof batchScoringActivities> &
  ReturnType<typeof trainingActivities> &
  ReturnType<typeof scanningActivities> &
  ReturnType<typeof challengeActivities>;
