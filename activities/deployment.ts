import { ApplicationFailure, Context } from '@temporalio/activity';
import { projectDeployment, projectDeploymentEnd } from '../catalog/projection.js';
import type { CatalogDb } from '../catalog/db.js';
import type { Deployment, DeployInput, DeploymentProbe, EndDeploymentInput } from '../core/deployment.js';
import { manifestSchema, type ModelManifest } from '../core/manifest.js';
import { routingDrainMs } from '../core/routing-drain.js';
import { modelToServe, runtimeModelName, type ModelRuntime } from '../runtimes/runtime.js';
import type { Runtimes } from '../runtimes/targets.js';
import { activityReadControl, artifactReads, type ReadSettings } from './read-uri.js';
import { verifyDigests } from './scanning.js';

/** The runtime serving each deployment target (runtimes/targets.ts); an unknown target throws. */
export type RuntimeLookup = Pick<Runtimes, 'forTarget'>;

export interface DeploymentOptions {
  /** How long gateways may route to an ended deployment (core/routing-drain.ts); its default TTL's when absent. */
  readonly routingDrainMs?: number;
}

/** What ending a deployment answers: how many more milliseconds gateways may route to it from their caches. */
export interface EndedDeployment {
  readonly drainMs: number;
}

/** The error type a deploy that can never succeed fails with: the lifecycle records it and stops retrying. */
export const DEPLOY_REFUSED = 'DeployRefused';
/** A health probe that gets no answer this quickly counts as failed. */
const PROBE_TIMEOUT_MS = 5_000;

/**
 * Deployment: the model version loaded into its target's runtime, then the catalog rows that say which
 * version serves on which target from when to when ("what was in production at time T"). Every step is
 * idempotent by deployment id and runtime model name, so a worker killed anywhere in a deploy and retried
 * leaves exactly one copy loaded and one row.
 */
export function deploymentActivities(db: CatalogDb, runtimes: RuntimeLookup, reading?: ReadSettings, options: DeploymentOptions = {}) {
  const drainMs = options.routingDrainMs ?? routingDrainMs();
  /**
   * Right before every deploy the artifacts are read again and their digests compared with the registered
   * ones: bytes swapped after the scan and approval are refused, final, naming the critical finding. (Without
   * read settings, as in tests of the catalog rows alone, there is nothing to read with.)
   */
  async function recheck(artifacts: ModelManifest['artifacts'], modelVersionId: string): Promise<void> {
    if (!reading) return;
    const findings = await verifyDigests(artifacts, { ...artifactReads(reading), ...activityReadControl() });
    if (findings.length === 0) return;
    const named = findings.map((f) => `critical finding ${f.code} on ${f.artifactUri}: ${f.message}`).join('; ');
    throw ApplicationFailure.create({
      type: DEPLOY_REFUSED,
      message: `pre-deploy re-check of ${modelVersionId} failed, the deploy was refused: ${named}`,
      nonRetryable: true,
      details: [{ findings }],
    });
  }

  function runtimeOf(target: string): ModelRuntime {
    try {
      return runtimes.forTarget(target);
    } catch (err) {
      throw ApplicationFailure.create({ type: DEPLOY_REFUSED, message: (err as Error).message, nonRetryable: true });
    }
  }

  async function probe(deploymentId: string): Promise<DeploymentProbe> {
    const row = await db
      .selectFrom('deployments')
      .select(['to_time', 'end_reason', 'target', 'model_version_id'])
      .where('id', '=', deploymentId)
      .executeTakeFirst();
    const ended = row?.to_time != null;
    if (!row || ended) return { ended, endReason: row?.end_reason ?? null };
    try {
      const ready = await runtimeOf(row.target).ready(runtimeModelName(row.model_version_id), { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      return { ended, endReason: null, ready, ...(ready ? {} : { problem: `runtime of target ${row.target} does not serve ${row.model_version_id}` }) };
    } catch (err) {
      return { ended, endReason: null, ready: false, problem: `runtime of target ${row.target} did not answer: ${(err as Error).message}` };
    }
  }

  return {
    async deployVersion(input: DeployInput): Promise<Deployment> {
      const row = await db.selectFrom('model_versions').select(['manifest', 'stage']).where('id', '=', input.modelVersionId).executeTakeFirstOrThrow();
      // Retirement is final: whatever asks, a retired version never serves again.
      if (row.stage === 'retire') {
        throw ApplicationFailure.create({ type: DEPLOY_REFUSED, message: `${input.modelVersionId} is retired and can never be deployed again`, nonRetryable: true });
      }
      const manifest = manifestSchema.parse(row.manifest);
      await recheck(manifest.artifacts, input.modelVersionId);
      const runtime = runtimeOf(input.target);
      const model = modelToServe(manifest, input.modelVersionId);
      const heartbeat = setInterval(() => Context.current().heartbeat('loading'), 2_000);
      try {
        // A version has one name and immutable artifacts: if it already serves (an earlier phase, a retried
        // attempt), loading again would only interrupt it.
        const serving = await runtime.ready(model.name).catch(() => false);
        if (!serving) await runtime.load(model, { signal: Context.current().cancellationSignal });
      } catch (err) {
        throw asFailure(err, `loading ${input.modelVersionId} into target ${input.target}`);
      } finally {
        clearInterval(heartbeat);
      }
      return projectDeployment(db, input);
    },

    /**
     * One health check: has this deployment been ended behind the lifecycle's back, and does its runtime still
     * serve the version? A missing row means the catalog is being rebuilt, not that the model left production.
     */
    async probeDeployment(input: { deploymentId: string }): Promise<DeploymentProbe> {
      return probe(input.deploymentId);
    },

    /**
     * Ends a deployment row and, unless the version goes on serving in its next phase (`keepLoaded`) or under
     * another live deployment, unloads it from the runtime: rollback, retirement and replacement free it.
     * Answers how much longer gateways may route to the ended row from their cached tables (a retirement
     * waits that long, the version still loaded, before it unloads). Counted from now, not from the row's end
     * time: that is when the lifecycle asked, and the row may have been ended later (a retried attempt) or by
     * another lifecycle's activity at a time the row does not record.
     */
    async endDeployment(input: EndDeploymentInput): Promise<EndedDeployment> {
      await projectDeploymentEnd(db, input);
      const ended = await db.selectFrom('deployments').select(['target', 'model_version_id']).where('id', '=', input.deploymentId).executeTakeFirst();
      const answer = { drainMs: ended ? drainMs : 0 };
      if (input.keepLoaded || !ended) return answer;
      const stillLive = await db
        .selectFrom('deployments')
        .select('id')
        .where('model_version_id', '=', ended.model_version_id)
        .where('target', '=', ended.target)
        .where('to_time', 'is', null)
        .executeTakeFirst();
      if (stillLive) return answer;
      try {
        await runtimeOf(ended.target).unload(runtimeModelName(ended.model_version_id), { signal: Context.current().cancellationSignal });
      } catch (err) {
        throw asFailure(err, `unloading ${ended.model_version_id} from target ${ended.target}`);
      }
      return answer;
    },
  };
}

/** A runtime's refusal (4xx: bad artifact, unsupported framework) is final; outages (5xx, no answer) are retried. */
function asFailure(err: unknown, doing: string): Error {
  if (err instanceof ApplicationFailure) return err;
  const retryable = (err as { retryable?: unknown }).retryable;
  const message = `${doing}: ${(err as Error).message}`;
  return retryable === false ? ApplicationFailure.create({ type: DEPLOY_REFUSED, message, nonRetryable: true }) : new Error(message);
}

export type { Deployment, DeployInput, EndDeploymentInput };
