import { OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor, makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import { Worker, type ActivityInterceptorsFactory, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import { batchScoringActivities } from '../activities/batch-scoring.js';
import { createActivities } from '../activities/index.js';
import { monitoringActivities } from '../activities/monitoring.js';
import { liveMonitoringActivities } from '../activities/live-monitoring.js';
import { challengeActivities } from '../activities/challenge.js';
import { trainingActivities, trainingSettingsFromEnv, type TrainingSettings } from '../activities/training/index.js';
import type { ReadSettings } from '../activities/read-uri.js';
import { createArtifactStager } from '../activities/runtime-staging.js';
import { evaluationActivities } from '../activities/testing.js';
import { catalogChampion } from '../activities/evaluation/champion.js';
import { loadConfig, readSettingsFromEnv } from '../platform/config.js';
import { lifecycleWorkerOptions, type WorkerTuning } from '../platform/worker-tuning.js';
import { createRuntimes, parseRuntimeTargets, type Runtimes } from '../runtimes/targets.js';
import { createTracing, type Tracing } from '../platform/telemetry.js';
import type { CatalogDb } from '../catalog/db.js';
import { computeTaskQueue } from '../core/task-queues.js';
import type { ContentStore } from '../evidence/content-store.js';
import { templates } from '../templates/index.js';
import { probeManifests } from '../workflows/dsl/probes.js';
import { scanningActivities } from '../activities/scanning.js';
import { bundleWorkflows } from './bundle.js';

/** `lifecycle`: workflows and light activities; `compute`: drift and batch scoring; `all`: both, in one process. */
export type WorkerRole = 'all' | 'lifecycle' | 'compute';

export interface StewardWorkerOptions {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly db: CatalogDb;
  readonly evidence: ContentStore;
  /** A pre-built bundle; built on the spot when absent. */
  readonly workflowBundle?: WorkflowBundle;
  readonly identity?: string;
  readonly role?: WorkerRole;
  /** Where activities may read artifacts and datasets from; the environment's settings when absent. */
  readonly reading?: ReadSettings;
  /** How long a shutdown lets running activities finish before cancelling them (default 5 s). */
  readonly shutdownGraceMs?: number;
  /** Where workflow and activity spans go; spans are made and dropped when absent. */
  readonly tracing?: Tracing;
  /** The runtimes deployments load into; STEWARD_RUNTIMES's targets when absent (closed with the worker). */
  readonly runtimes?: Runtimes;
  /** How long a retirement drains before it unloads: `routingDrainMs` of the gateways' routing TTL (the default TTL's when absent). */
  readonly routingDrainMs?: number;
  /** Where batch scoring writes predictions; STEWARD_BATCH_OUTPUT_DIR's (or its default) when absent. */
  readonly batchOutputDir?: string;
  /** Where training runs write and which programs they run; STEWARD_TRAINING_* and STEWARD_PUBLIC_URL when absent. */
  readonly training?: TrainingSettings;
  /** Cache size and task slots of the lifecycle worker; STEWARD_WORKER_*'s (or their defaults) when absent. */
  readonly tuning?: WorkerTuning;
}

/** After the grace time, cancelled activities get this long to stop before the worker gives up on them. */
const SHUTDOWN_FORCE_MARGIN_MS = 5_000;
/**
 * Heartbeats carry cancellation back to a reading activity (retire, lifecycle cancelled), so they go out at
 * least this often whatever the activity's heartbeat timeout.
 */
const HEARTBEAT_THROTTLE = '2 seconds';

/** The workers of one process, run and stopped together. */
export class StewardWorker {
  constructor(
    private readonly workers: readonly Worker[],
    /** Runtime clients this worker made, closed when it stops. */
    private readonly ownRuntimes?: Runtimes,
  ) {}

  /** Runs every worker until shutdown; if one fails, the others are shut down and the failure is raised. */
  async run(): Promise<void> {
    const runs = this.workers.map((w) => w.run());
    try {
      await Promise.all(runs);
    } catch (err) {
      this.shutdown();
      await Promise.allSettled(runs);
      throw err;
    } finally {
      await this.ownRuntimes?.close();
    }
  }

  shutdown(): void {
    for (const w of this.workers) if (w.getState() === 'RUNNING') w.shutdown();
  }

  getState(): ReturnType<Worker['getState']> {
    return this.workers[0]!.getState();
  }
}

/**
 * The worker(s) for `role`: the lifecycle worker runs the workflow and its light activities on the task queue;
 * the compute worker runs drift on the compute queue beside it.
 */
export async function createStewardWorker(options: StewardWorkerOptions): Promise<StewardWorker> {
  const role = options.role ?? 'all';
  const tuning = options.tuning ?? loadConfig().workerTuning;
  const reading = options.reading ?? readSettingsFromEnv();
  const grace = options.shutdownGraceMs ?? 5_000;
  const tracing = options.tracing ?? createTracing({ serviceName: 'steward-worker' });
  const tracer = { tracer: tracing.tracer };
  const activityInterceptors: ActivityInterceptorsFactory = (ctx) => ({
    inbound: new OpenTelemetryActivityInboundInterceptor(ctx, tracer),
    outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
  });
  const common = {
    connection: options.connection,
    namespace: options.namespace,
    ...(options.identity ? { identity: options.identity } : {}),
    shutdownGraceTime: grace,
    shutdownForceTime: grace + SHUTDOWN_FORCE_MARGIN_MS,
    maxHeartbeatThrottleInterval: HEARTBEAT_THROTTLE,
    defaultHeartbeatThrottleInterval: HEARTBEAT_THROTTLE,
    // Like the workflow interceptors, activity spans are made only when an exporter takes them.
    interceptors: { activity: tracing.exporting ? [activityInterceptors] : [] },
  };
  const workers: Worker[] = [];
  const ownRuntimes = options.runtimes ? undefined : createRuntimes(parseRuntimeTargets(), { stage: createArtifactStager(reading) });
  const runtimes = options.runtimes ?? ownRuntimes!;
  if (role !== 'compute') {
    // Load-time check of the released templates: a wrong option stops the worker here, naming it.
    templates.check(probeManifests());
    workers.push(
      await Worker.create({
        ...common,
        ...lifecycleWorkerOptions(tuning),
        taskQueue: options.taskQueue,
        // Workflow spans are made only when they are exported somewhere (workers/bundle.ts); the sink stays either way.
        workflowBundle: options.workflowBundle ?? (await bundleWorkflows(undefined, { traced: tracing.exporting })),
        sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
        activities: createActivities({
          db: options.db,
          evidence: options.evidence,
          reading,
          runtimes,
          ...(options.routingDrainMs !== undefined ? { routingDrainMs: options.routingDrainMs } : {}),
        }),
      }),
    );
  }
  if (role !== 'lifecycle') {
    const outputDir = options.batchOutputDir ?? loadConfig().batchOutputDir;
    const activities = {
      ...monitoringActivities(options.evidence, reading),
      ...liveMonitoringActivities(options.db, options.evidence, reading),
      ...challengeActivities(options.db),
      ...batchScoringActivities({ runtimes, reading, outputDir }),
      ...evaluationActivities({ runtimes, reading, evidence: options.evidence, champion: catalogChampion(options.db) }),
      ...trainingActivities({ db: options.db, evidence: options.evidence, reading, settings: options.training ?? trainingSettingsFromEnv() }),
      // Scans run here since patch steward:scan-on-compute; the lifecycle worker keeps them for scans scheduled before it.
      ...scanningActivities(options.evidence, reading),
    };
    workers.push(await Worker.create({ ...common, taskQueue: computeTaskQueue(options.taskQueue), activities }));
  }
  return new StewardWorker(workers, ownRuntimes);
}
