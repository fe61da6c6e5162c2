import { createHash } from 'node:crypto';
import { startInputOf } from '../audit/run-histories.js';
import { canonicalJson } from '../core/canonical-json.js';
import { describeChange, jsonDiff } from '../core/json-diff.js';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import type { ModelManifest } from '../core/manifest.js';
import { lifecycleWorkflowId, modelVersionId, type ModelVersionRef } from '../core/model-id.js';
import type { LifecyclePolicy } from '../core/policy.js';
import type { Principal } from '../core/principal.js';
import { lifecycleSearchAttributes, SA_STAGE } from '../core/search-attributes.js';
import type { LifecycleInput } from '../workflows/lifecycle.js';
import { modelLifecycle } from '../workflows/lifecycle.js';
import { ApiError } from './errors.js';

export function manifestDigest(manifest: ModelManifest): string {
  return createHash('sha256').update(canonicalJson(manifest)).digest('hex');
}

export interface RegistrationResult {
  readonly created: boolean;
  readonly modelVersionId: string;
  readonly workflowId: string;
  readonly runId: string;
}

/** The API's only door to Temporal: starting, describing and signalling lifecycles. */
export class Lifecycles {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly policy: LifecyclePolicy,
  ) {}

  handle(ref: ModelVersionRef) {
    return this.client.workflow.getHandle<typeof modelLifecycle>(lifecycleWorkflowId(ref));
  }

  /** Starts the version's lifecycle; registering the same manifest again returns the same lifecycle. */
  async register(manifest: ModelManifest, registeredBy: Principal): Promise<RegistrationResult> {
    const workflowId = lifecycleWorkflowId(manifest);
    const digest = manifestDigest(manifest);
    const input: LifecycleInput = { manifest, registeredBy, policy: this.policy };
    try {
      const handle = await this.client.workflow.start(modelLifecycle, {
        taskQueue: this.taskQueue,
        workflowId,
        args: [input],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: lifecycleSearchAttributes(manifest, 'register'),
        memo: { manifestDigest: digest, registeredBy: registeredBy.id },
      });
      return { created: true, modelVersionId: modelVersionId(manifest), workflowId, runId: handle.firstExecutionRunId };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    const existing = await this.handle(manifest).describe();
    if (existing.memo?.manifestDigest !== digest) {
      const changes = jsonDiff(await this.registeredManifest(workflowId, existing), manifest);
      throw new ApiError(
        409,
        'version_conflict',
        `${modelVersionId(manifest)} is already registered with a different manifest (${changes
          .slice(0, 10)
          .map(describeChange)
          .join('; ')}); register a new version instead`,
        changes.map((c) => ({ field: `body.${c.path}`, problem: describeChange(c) })),
      );
    }
    return { created: false, modelVersionId: modelVersionId(manifest), workflowId, runId: existing.runId };
  }

  /** The manifest a lifecycle was started with, read from the first event of its first run. */
  private async registeredManifest(workflowId: string, description: WorkflowExecutionDescription): Promise<unknown> {
    const firstRunId = description.raw.workflowExecutionInfo?.firstRunId ?? description.runId;
    return startInputOf(await this.client.workflow.getHandle(workflowId, firstRunId).fetchHistory()).manifest;
  }

  /** Describes the lifecycle, or throws a 404 naming the model version. */
  async describe(ref: ModelVersionRef): Promise<WorkflowExecutionDescription> {
    try {
      return await this.handle(ref).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        throw new ApiError(404, 'model_not_found', `no lifecycle for ${modelVersionId(ref)}`);
      }
      throw err;
    }
  }

  /** Like describe, but also 409 when the lifecycle has already ended. */
  async requireRunning(ref: ModelVersionRef): Promise<WorkflowExecutionDescription> {
    const description = await this.describe(ref);
    if (description.status.name !== 'RUNNING') {
      throw new ApiError(409, 'lifecycle_ended', `the lifecycle of ${modelVersionId(ref)} has ended (${description.status.name})`);
    }
    return description;
  }

  stageOf(description: WorkflowExecutionDescription): string | null {
    return description.typedSearchAttributes.get(SA_STAGE) ?? null;
  }
}
