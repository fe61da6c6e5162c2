import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import type { Artifact } from '../../../core/manifest.js';
import type { TrainingJob, TrainingOutput, TrainingOutputFile } from '../../../core/training.js';

/** What the training command double does for a lifecycle: produce a file, fail, or run until cancelled. */
export type TrainingBehaviour = { readonly produces: string; readonly metrics?: Record<string, number> } | { readonly fails: string } | { readonly hangs: true };
export const trainingBehaviour = new Map<string, TrainingBehaviour>();
/** uri → the sha256 the fingerprint double reads there (default: the digest of the URI itself). */
export const bytesAt = new Map<string, string>();
export const trainingJobs: TrainingJob[] = [];
export const cancelledRuns: string[] = [];

/** Doubles of the training activities on the compute queue. */
export const training = {
  async runTrainingCommand({ job }: { job: TrainingJob }): Promise<TrainingOutput> {
    trainingJobs.push(job);
    const behaviour = trainingBehaviour.get(job.workflowId) ?? { produces: `file:///trained/${job.modelName}/${job.version}/model.json` };
    if ('fails' in behaviour) throw ApplicationFailure.create({ type: 'TrainingFailed', message: behaviour.fails, nonRetryable: true });
    if ('hangs' in behaviour) {
      const context = Context.current();
      try {
        for (;;) {
          context.heartbeat({ elapsedMs: 0 });
          await context.sleep(100);
        }
      } catch (err) {
        if (err instanceof CancelledFailure) cancelledRuns.push(job.runKey);
        throw err;
      }
    }
    return {
      artifacts: [{ uri: behaviour.produces, name: 'model' }],
      metrics: behaviour.metrics ?? { auc: 0.88 },
      trainingData: [{ uri: 's3://lake/credit/applications-2026q1.parquet' }],
      logDigest: 'e'.repeat(64),
      summary: { exitCode: 0, durationMs: 1234 },
    };
  },
  async fingerprintTrainingOutputs({ files }: { files: readonly TrainingOutputFile[] }): Promise<Artifact[]> {
    return files.map((f) => ({ uri: f.uri, sha256: bytesAt.get(f.uri) ?? createHash('sha256').update(f.uri).digest('hex'), ...(f.name ? { name: f.name } : {}) }));
  },
};

