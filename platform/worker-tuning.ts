import { z } from 'zod';

/**
 * How a lifecycle worker sizes its workflow cache and task slots. The SDK's defaults size the cache from the V8
 * heap limit (600 workflows per GiB above 200 MiB, about 2,300 on a 4 GiB heap), so the cache follows whatever
 * heap the host happens to give. Steward's defaults come from `npm run bench:fleet` instead (docs/operations.md):
 * about 0.5 MiB of worker RSS per cached lifecycle over a ~480 MiB idle worker (garbage included): 5,000 cached took
 * 2.9 GiB, so 6,000 fit in 4 GiB.
 */
export interface WorkerTuning {
  /** Lifecycles kept in the sticky cache; an evicted one is replayed from its history on its next task. */
  readonly maxCachedWorkflows: number;
  /** Workflow tasks run at once (SDK default 40). */
  readonly maxConcurrentWorkflowTasks: number;
  /** Activities run at once on the lifecycle queue (SDK default 100); they mostly wait on the catalog pool. */
  readonly maxConcurrentActivities: number;
  /** How long a task waits on this worker's sticky queue before any worker may take it (SDK default 10 s). */
  readonly stickyScheduleToStartTimeoutMs: number;
  /** One V8 context for every workflow (the SDK default) rather than one per workflow. */
  readonly reuseV8Context: boolean;
  /** Threads running workflow tasks (SDK default: 1 with a reused context). */
  readonly workflowThreads: number;
  /**
   * Worker versioning: the worker deployment and build this worker belongs to. Lifecycles run for years, so they
   * auto-upgrade to the current build at their next workflow task; patches keep the new code replay-safe.
   */
  readonly deployment?: { readonly name: string; readonly buildId: string };
}

/** The variables, their defaults and limits; an invalid value is reported under its variable's name. */
export const workerTuningEnv = {
  STEWARD_WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int('must be a whole number').min(0).max(100_000).default(6_000),
  STEWARD_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int('must be a whole number').min(2).max(1_000).default(40),
  STEWARD_WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int('must be a whole number').min(1).max(1_000).default(50),
  STEWARD_WORKER_STICKY_TIMEOUT_SECONDS: z.coerce.number().min(1).max(600).default(10),
  STEWARD_WORKER_REUSE_V8_CONTEXT: z.enum(['true', 'false'], { error: 'must be true or false' }).default('true'),
  STEWARD_WORKER_THREADS: z.coerce.number().int('must be a whole number').min(1).max(16).default(1),
  STEWARD_WORKER_DEPLOYMENT_NAME: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/, 'must be letters, digits, ".", "_" or "-"').optional(),
  STEWARD_WORKER_BUILD_ID: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,254}$/, 'must be letters, digits, ".", "_", "+" or "-"').optional(),
};

type TuningEnv = z.output<z.ZodObject<typeof workerTuningEnv>>;

/** The tuning from parsed variables; throws naming both variables when they contradict each other. */
export function workerTuning(e: TuningEnv): WorkerTuning {
  const cached = e.STEWARD_WORKER_MAX_CACHED_WORKFLOWS;
  const tasks = e.STEWARD_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS;
  // The SDK would silently lower the task slots to the cache size; say so instead.
  if (cached > 0 && tasks > cached) {
    throw new Error(`STEWARD_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS (${tasks}) cannot exceed STEWARD_WORKER_MAX_CACHED_WORKFLOWS (${cached}) unless the cache is off (0)`);
  }
  const name = e.STEWARD_WORKER_DEPLOYMENT_NAME;
  const buildId = e.STEWARD_WORKER_BUILD_ID;
  if (Boolean(name) !== Boolean(buildId)) throw new Error('STEWARD_WORKER_DEPLOYMENT_NAME and STEWARD_WORKER_BUILD_ID must be set together');
  return {
    ...(name && buildId ? { deployment: { name, buildId } } : {}),
    maxCachedWorkflows: cached,
    maxConcurrentWorkflowTasks: tasks,
    maxConcurrentActivities: e.STEWARD_WORKER_MAX_CONCURRENT_ACTIVITIES,
    stickyScheduleToStartTimeoutMs: e.STEWARD_WORKER_STICKY_TIMEOUT_SECONDS * 1000,
    reuseV8Context: e.STEWARD_WORKER_REUSE_V8_CONTEXT === 'true',
    workflowThreads: e.STEWARD_WORKER_THREADS,
  };
}

/** The tuning as Temporal `WorkerOptions` for the lifecycle worker. */
export function lifecycleWorkerOptions(t: WorkerTuning) {
  return {
    maxCachedWorkflows: t.maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: t.maxConcurrentWorkflowTasks,
    // Half the task slots, as the SDK recommends, at most its default of 10 (more pollers load the server).
    maxConcurrentWorkflowTaskPolls: Math.max(2, Math.min(10, Math.floor(t.maxConcurrentWorkflowTasks / 2))),
    maxConcurrentActivityTaskExecutions: t.maxConcurrentActivities,
    stickyQueueScheduleToStartTimeout: t.stickyScheduleToStartTimeoutMs,
    reuseV8Context: t.reuseV8Context,
    workflowThreadPoolSize: t.workflowThreads,
    ...(t.deployment
      ? {
          workerDeploymentOptions: {
            version: { deploymentName: t.deployment.name, buildId: t.deployment.buildId },
            useWorkerVersioning: true as const,
            defaultVersioningBehavior: 'AUTO_UPGRADE' as const,
          },
        }
      : {}),
  };
}
