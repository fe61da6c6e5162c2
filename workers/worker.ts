import { Worker, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import type { CatalogDb } from '../catalog/db.js';
import type { ContentStore } from '../evidence/content-store.js';
import { templates } from '../templates/index.js';
import { probeManifests } from '../workflows/dsl/probes.js';
import { bundleWorkflows } from './bundle.js';

export interface StewardWorkerOptions {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly db: CatalogDb;
  readonly evidence: ContentStore;
  /** A pre-built bundle; built on the spot when absent. */
  readonly workflowBundle?: WorkflowBundle;
  readonly identity?: string;
}

/** A worker that runs the lifecycle workflow and its light activities on one task queue. */
export async function createStewardWorker(options: StewardWorkerOptions): Promise<Worker> {
  // Load-time check of the released templates: a wrong option stops the worker here, naming it.
  templates.check(probeManifests());
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowBundle: options.workflowBundle ?? (await bundleWorkflows()),
    activities: createActivities({ db: options.db, evidence: options.evidence }),
    ...(options.identity ? { identity: options.identity } : {}),
  });
}
