import type { CatalogDb } from '../../catalog/db.js';
import type { Artifact } from '../../core/manifest.js';
import type { CommandRunner, TrainingJob, TrainingOutput, TrainingOutputFile, WebhookRunner } from '../../core/training.js';
import type { ContentStore } from '../../evidence/content-store.js';
import type { ReadSettings } from '../read-uri.js';
import { runCommand } from './command.js';
import { fingerprintOutputs } from './outputs.js';
import type { TrainingSettings } from './settings.js';
import { startWebhookRun } from './webhook.js';

export { TRAINING_FAILED, TRAINING_REFUSED } from './command.js';
export { callbackTokenDigest } from './webhook.js';
export { trainingSettingsFromEnv, type TrainingSettings } from './settings.js';

export interface TrainingDeps {
  readonly db: CatalogDb;
  readonly evidence: ContentStore;
  readonly reading: ReadSettings;
  readonly settings: TrainingSettings;
}

/** Training runners and the fingerprinting of what they produce; compute task queue. */
export function trainingActivities(deps: TrainingDeps) {
  return {
    /** Runs the template's training command on this worker; see activities/training/command.ts. */
    async runTrainingCommand(input: { job: TrainingJob; runner: CommandRunner }): Promise<TrainingOutput> {
      return runCommand(input.job, input.runner, deps.settings, deps.evidence);
    },
    /** Hands the job to an external pipeline and completes when it calls back; see activities/training/webhook.ts. */
    async runTrainingWebhook(input: { job: TrainingJob; runner: WebhookRunner }): Promise<TrainingOutput> {
      return startWebhookRun(input.job, input.runner, deps.settings, deps.db, deps.reading.policy);
    },
    /** Reads each produced file's bytes (through the read policy) and computes its sha256. */
    async fingerprintTrainingOutputs(input: { files: readonly TrainingOutputFile[] }): Promise<Artifact[]> {
      return fingerprintOutputs(input.files, deps.reading);
    },
  };
}
