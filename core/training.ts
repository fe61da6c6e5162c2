import type { Artifact, DatasetRef } from './manifest.js';

/**
 * Retraining: what starts one (the trigger), how a template trains (the runner), and what a training run hands
 * back. Shared by the workflow (deterministic), the training activities and the callback API.
 */

/** Why a retrain started: a person, a drift verdict, a monitor alert, or the template's schedule. */
export type RetrainTrigger =
  | { readonly kind: 'manual' }
  | { readonly kind: 'drift'; readonly window: string; readonly driftedColumns: readonly string[] }
  | { readonly kind: 'alert'; readonly severity: string; readonly breaches: readonly string[]; readonly window?: string }
  | { readonly kind: 'schedule'; readonly due: string; readonly everyMs: number };

export type RetrainTriggerKind = RetrainTrigger['kind'];

/**
 * A command run in a working directory: argv, never a shell string. Placeholders in argv, replaced by the
 * worker: `{out}` (an empty directory for this run's outputs), `{data}` (the local path of the parent's first
 * training dataset), `{dataUri}`, `{model}` (the local path of the parent's first artifact), `{name}`,
 * `{version}` (the new version), `{parentVersion}`.
 */
export interface CommandRunner {
  readonly kind: 'command';
  readonly argv: readonly string[];
  /** Relative to the worker's working directory unless absolute. */
  readonly cwd?: string;
  readonly timeoutMs: number;
}

/** An external pipeline: POSTed a job with a callback URL, it calls back (hours or days later) when done. */
export interface WebhookRunner {
  readonly kind: 'webhook';
  readonly url: string;
  readonly timeoutMs: number;
}

export type TrainingRunner = CommandRunner | WebhookRunner;

/** What a runner is asked to do. `runKey` is deterministic per retrain, so a retried attempt redoes the same run. */
export interface TrainingJob {
  readonly runKey: string;
  readonly workflowId: string;
  readonly modelName: string;
  readonly parentVersion: string;
  readonly version: string;
  readonly parentArtifacts: readonly Artifact[];
  readonly trainingData: readonly DatasetRef[];
  readonly trigger: RetrainTrigger;
  readonly reason: string;
}

/** A file a runner produced, before Steward has read it. */
export interface TrainingOutputFile {
  readonly uri: string;
  readonly name?: string;
}

/** What a runner reports: its files (not yet trusted), metrics and the data it trained on. */
export interface TrainingOutput {
  readonly artifacts: readonly TrainingOutputFile[];
  readonly metrics: Readonly<Record<string, number>>;
  readonly trainingData: readonly DatasetRef[];
  /** Digest of the captured logs in the evidence content store (command runner). */
  readonly logDigest?: string;
  /** Short summary of the run for history: exit code, duration, pipeline run id. */
  readonly summary: Readonly<Record<string, string | number>>;
}

/** A training run's outcome once Steward has read the artifacts' bytes and computed their digests. */
export interface TrainedVersion {
  readonly artifacts: readonly Artifact[];
  readonly metrics: Readonly<Record<string, number>>;
  readonly trainingData: readonly DatasetRef[];
  readonly logDigest?: string;
  readonly summary: Readonly<Record<string, string | number>>;
}

/** The training part of a retrained version's lineage. */
export interface TrainingLineage {
  readonly runner: TrainingRunner['kind'];
  readonly runKey: string;
  readonly trigger: RetrainTrigger;
  readonly trainingData: readonly DatasetRef[];
  readonly logDigest?: string;
}

/**
 * Whether a training run produced something new: a version needs at least one artifact whose bytes differ
 * from every one of the parent's. Null when it did; otherwise why not.
 */
export function noNewArtifactBecause(parent: readonly Artifact[], trained: readonly Artifact[]): string | null {
  if (trained.length === 0) return 'the training run produced no artifact';
  const known = new Set(parent.map((a) => a.sha256));
  if (trained.every((a) => known.has(a.sha256))) {
    return `the training run produced the parent's bytes again (sha256 ${trained.map((a) => a.sha256.slice(0, 12)).join(', ')})`;
  }
  return null;
}

/** Next time a template's schedule is due: `every` after the base (the last retrain, or when the version went live). */
export function scheduledRetrainDue(baseIso: string, everyMs: number): number {
  return Date.parse(baseIso) + everyMs;
}

/** Null when an automatic trigger may retrain at `now`; else why not (too soon after the last retrain). */
export function tooSoonBecause(lastRetrainAt: string | null, minIntervalMs: number | null, now: number): string | null {
  if (lastRetrainAt === null || minIntervalMs === null) return null;
  const earliest = Date.parse(lastRetrainAt) + minIntervalMs;
  return now < earliest ? `the last retrain was at ${lastRetrainAt}; the template allows the next one from ${new Date(earliest).toISOString()}` : null;
}
