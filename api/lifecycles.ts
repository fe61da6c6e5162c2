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
import { templates as releasedTemplates } from '../templates/index.js';
import { TemplateError, UnknownTemplateError, type TemplateRegistry } from '../workflows/dsl/index.js';
import { probeManifests } from '../workflows/dsl/probes.js';
import type { LifecycleInput, LifecycleStatus, ModelLifecycle } from '../core/lifecycle.js';
import { statusQuery } from '../workflows/messages.js';
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
    /** Development and tests only: every lifecycle runs this bare policy instead of its manifest's template. */
    private readonly inlinePolicy?: LifecyclePolicy,
    private readonly templates: TemplateRegistry = releasedTemplates,
  ) {
    // Load-time check: a template with a wrong option stops the API at start, naming it.
    templates.check(probeManifests());
  }

  handle(ref: ModelVersionRef) {
    return this.client.workflow.getHandle<ModelLifecycle>(lifecycleWorkflowId(ref));
  }

  /**
   * Pins the manifest's template (`standard` → `standard@<newest>`) and checks that it plans this manifest, so a
   * lifecycle never starts on a template it cannot run. Errors name `body.template`.
   */
  templateFor(manifest: ModelManifest): string {
    try {
      const template = this.templates.resolve(manifest.template);
      template.plan(manifest);
      return template.ref;
    } catch (err) {
      if (err instanceof UnknownTemplateError) {
        throw new ApiError(400, 'invalid_request', `body.template: ${err.message}`, [{ field: 'body.template', problem: err.message }]);
      }
      if (err instanceof TemplateError) {
        throw new ApiError(422, 'template_unusable', `body.template: ${err.message}`, [{ field: 'body.template', problem: err.message }]);
      }
      throw err;
    }
  }

  /** Starts the version's lifecycle; registering the same manifest again returns the same lifecycle. */
  async register(manifest: ModelManifest, registeredBy: Principal): Promise<RegistrationResult> {
    const workflowId = lifecycleWorkflowId(manifest);
    const digest = manifestDigest(manifest);
    const input: LifecycleInput = this.inlinePolicy
      ? { manifest, registeredBy, policy: this.inlinePolicy }
      : { manifest, registeredBy, template: this.templateFor(manifest) };
    try {
      const handle = await this.client.workflow.start<ModelLifecycle>('modelLifecycle', {
        taskQueue: this.taskQueue,
        workflowId,
        args: [input],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: lifecycleSearchAttributes(manifest, 'register'),
        memo: { manifestDigest: digest, registeredBy: registeredBy.id, template: input.template ?? 'inline' },
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

  /** The live status of a running lifecycle (404 unknown, 409 ended). */
  async runningStatus(ref: ModelVersionRef): Promise<LifecycleStatus> {
    await this.requireRunning(ref);
    return this.handle(ref).query(statusQuery);
  }

  stageOf(description: WorkflowExecutionDescription): string | null {
    return description.typedSearchAttributes.get(SA_STAGE) ?? null;
  }
}
