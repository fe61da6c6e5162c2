import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { InferenceAnswer } from '../../runtimes/answer.js';
import { scoresBytes } from '../../runtimes/oip.js';
import type { InferenceRequest, InferenceResponse, ModelMetadata } from '../../runtimes/protocol.js';
import type { ModelRuntime } from '../../runtimes/runtime.js';
import { DEFAULT_TOLERANCE, outputsAgree, type Tolerance } from './compare.js';
import { Deadlines } from './deadlines.js';
import { InferenceBody } from './request-body.js';
import { summariseTensors, type RequestLog } from './request-log.js';
import { pickRoute, routeForVersion, type Random } from './router.js';
import type { ModelRoutes, Route, RoutingTable } from './routing-table.js';
import type { GatewayWindows } from './windows.js';

/** A failure the gateway answers with, in the protocol's shape: `{ "error": message }`. */
export class GatewayError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface GatewayDeps {
  readonly routing: RoutingTable;
  /** The runtime serving a deployment target; undefined when the target has none configured. */
  readonly runtimeFor: (target: string) => ModelRuntime | undefined;
  readonly windows: GatewayWindows;
  readonly requestLog?: RequestLog;
  readonly random?: Random;
  readonly tolerance?: Tolerance;
  /** A runtime that has not answered by then has failed the request. */
  readonly timeoutMs?: number;
  readonly log?: (level: 'warn' | 'info', message: string, detail?: Record<string, unknown>) => void;
}

/**
 * How a runtime's failure counts. A 4xx (other than 429) is the runtime refusing a malformed request: the
 * caller's mistake, answered 400 and not counted against the model. A 404 is not: the gateway chose the
 * model's name, so "not found" means the version is no longer loaded (unloaded by a rollback while the
 * routing table still had it). That and everything else (a 5xx, a timeout, no connection) is the model's
 * error: counted in its window and answered 503.
 */
export function runtimeFailure(err: unknown): 'caller' | 'model' {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 && status !== 429 && status !== 404 ? 'caller' : 'model';
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The scoring gateway: routes each V2 request by the model's live traffic split, answers with the chosen
 * deployment's outputs under the model's own name, mirrors it to shadows without waiting for them, and
 * counts everything into the deployments' windows.
 */
export class Gateway {
  private readonly random: Random;
  private readonly tolerance: Tolerance;
  private readonly timeoutMs: number;
  private readonly deadlines: Deadlines;
  private readonly mirrors = new Set<Promise<void>>();

  constructor(private readonly deps: GatewayDeps) {
    this.random = deps.random ?? Math.random;
    this.tolerance = deps.tolerance ?? DEFAULT_TOLERANCE;
    this.timeoutMs = deps.timeoutMs ?? 30_000;
    this.deadlines = new Deadlines(this.timeoutMs);
  }

  private async routesOf(modelName: string): Promise<ModelRoutes> {
    const routes = await this.deps.routing.routes(modelName);
    if (!routes || (!routes.champion && routes.canaries.length === 0 && routes.shadows.length === 0)) {
      throw new GatewayError(404, `model ${modelName} has no live deployment`);
    }
    return routes;
  }

  private async serving(modelName: string, version: string | undefined): Promise<{ routes: ModelRoutes; route: Route }> {
    const routes = await this.routesOf(modelName);
    const route = version === undefined ? pickRoute(routes, this.random) : routeForVersion(routes, version);
    if (!route) {
      throw new GatewayError(404, version === undefined ? `model ${modelName} has no live champion or canary` : `model ${modelName} has no live deployment of version ${version}`);
    }
    return { routes, route };
  }

  private runtimeOf(route: Route): ModelRuntime {
    const runtime = this.deps.runtimeFor(route.target);
    if (!runtime) throw new GatewayError(503, `deployment target ${route.target} of ${route.modelVersionId} has no runtime configured`);
    return runtime;
  }

  /** Scores a built request (tests, embedding); the API's route scores the caller's bytes with `inferBytes`. */
  async infer(modelName: string, version: string | undefined, request: InferenceRequest): Promise<InferenceResponse> {
    const answer = await this.inferBytes(modelName, version, InferenceBody.of(request));
    return JSON.parse(answer.toString('utf8')) as InferenceResponse;
  }

  /**
   * The scoring hot path. The runtime gets the caller's bytes (with an id added when there was none) and the
   * caller gets the runtime's bytes with the envelope set to the model's name, the version that answered and
   * the request id; tensors are built only for a window's sample or a shadow comparison.
   */
  async inferBytes(modelName: string, version: string | undefined, body: InferenceBody): Promise<Buffer> {
    const { routes, route: chosen } = await this.serving(modelName, version);
    const requestId = body.id ?? randomUUID();
    const forwarded = body.withId(requestId);
    let route = chosen;
    let outcome = await this.call(modelName, route, forwarded);
    // A canary its runtime no longer has (404) was rolled back under a route up to a TTL old: the caller is
    // answered by the champion instead, and the canary, already gone, is not charged with an error.
    if ('gone' in outcome && version === undefined && route.strategy === 'canary' && routes.champion) {
      route = routes.champion;
      outcome = await this.call(modelName, route, forwarded);
    }
    if ('gone' in outcome) {
      this.deps.windows.failed(route);
      throw outcome.gone;
    }
    const { answer, latencyMs } = outcome;
    // The window the request counts in, taken before counting it: the request that fills a window closes it.
    const windowId = this.deps.requestLog ? this.deps.windows.currentWindowId(route) : '';
    this.deps.windows.answered(route, latencyMs, () => ({ requestId, inputs: summariseTensors(body.parsed().inputs), outputs: answer.outputsSummary() }));
    if (this.deps.requestLog) {
      this.deps.requestLog.add({
        requestId,
        modelVersionId: route.modelVersionId,
        deploymentId: route.deploymentId,
        windowId,
        at: new Date(),
        outputs: answer.outputsSummary(),
      });
    }
    // Only requests the champion answered are mirrored: a shadow is compared with the champion, not a canary.
    if (route.strategy === 'replace' && version === undefined) {
      for (const shadow of routes.shadows) this.mirror(shadow, requestId, body, forwarded, answer, latencyMs);
    }
    return answer.rewrite({ model_name: modelName, model_version: route.version, id: requestId });
  }

  /** One runtime call: bytes in and out where the runtime client can, else through its built form. */
  private async score(runtime: ModelRuntime, name: string, body: Buffer): Promise<InferenceAnswer> {
    if (scoresBytes(runtime)) return runtime.inferBytes(name, body, { timeoutMs: this.timeoutMs });
    const deadline = this.deadlines.start();
    try {
      return InferenceAnswer.of(await runtime.infer(name, JSON.parse(body.toString('utf8')) as InferenceRequest, { signal: deadline.signal }));
    } finally {
      deadline.done();
    }
  }

  /**
   * One call to a deployment's runtime. Failures other than "not loaded" are counted in its window and
   * thrown; a 404 comes back as `gone` so the caller can fall back to the champion.
   */
  private async call(modelName: string, route: Route, body: Buffer): Promise<{ answer: InferenceAnswer; latencyMs: number } | { gone: GatewayError }> {
    const runtime = this.runtimeOf(route);
    const started = performance.now();
    try {
      const answer = await this.score(runtime, route.runtimeName, body);
      return { answer, latencyMs: performance.now() - started };
    } catch (err) {
      if (runtimeFailure(err) === 'caller') {
        this.deps.windows.refused(route);
        throw new GatewayError(400, `model ${modelName} refused the request: ${messageOf(err)}`);
      }
      const unavailable = new GatewayError(503, `model ${modelName} (version ${route.version}) is unavailable: ${messageOf(err)}`);
      if ((err as { status?: unknown } | null)?.status === 404) return { gone: unavailable };
      this.deps.windows.failed(route);
      throw unavailable;
    }
  }

  /** Sends a copy to a shadow in the background; its answer is compared and counted, never returned. */
  private mirror(shadow: Route, requestId: string, body: InferenceBody, forwarded: Buffer, champion: InferenceAnswer, championLatencyMs: number): void {
    const runtime = this.deps.runtimeFor(shadow.target);
    if (!runtime) {
      this.deps.windows.failed(shadow);
      return;
    }
    const started = performance.now();
    const done = this.score(runtime, shadow.runtimeName, forwarded)
      .then(
        (answer) => {
          const windowId = this.deps.requestLog ? this.deps.windows.currentWindowId(shadow) : '';
          this.deps.windows.answered(shadow, performance.now() - started, () => ({ requestId, inputs: summariseTensors(body.parsed().inputs), outputs: answer.outputsSummary() }));
          // Logged like the champion's answer, under the same id: a challenge compares both on the same labelled requests.
          this.deps.requestLog?.add({ requestId, modelVersionId: shadow.modelVersionId, deploymentId: shadow.deploymentId, windowId, at: new Date(), outputs: answer.outputsSummary() });
          this.deps.windows.shadowCompared(shadow, outputsAgree(champion.parsed(), answer.parsed(), this.tolerance), championLatencyMs);
        },
        (err: unknown) => {
          if (runtimeFailure(err) === 'caller') this.deps.windows.refused(shadow);
          else this.deps.windows.failed(shadow);
        },
      )
      .catch((err: unknown) => this.deps.log?.('warn', 'shadow comparison failed', { err: messageOf(err), deploymentId: shadow.deploymentId }))
      .finally(() => {
        this.mirrors.delete(done);
      });
    this.mirrors.add(done);
  }

  /** Waits for shadow copies still in flight (shutdown, tests). */
  async settled(): Promise<void> {
    while (this.mirrors.size > 0) await Promise.all([...this.mirrors]);
  }

  async metadata(modelName: string, version: string | undefined): Promise<ModelMetadata> {
    const routes = await this.routesOf(modelName);
    // The champion describes the model; a version path describes that version.
    const route = version === undefined ? (routes.champion ?? routes.canaries[0]) : routeForVersion(routes, version);
    if (!route) throw new GatewayError(404, `model ${modelName} has no live deployment${version === undefined ? ' serving traffic' : ` of version ${version}`}`);
    let metadata: ModelMetadata;
    try {
      metadata = await this.runtimeOf(route).metadata(route.runtimeName, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      throw new GatewayError(503, `model ${modelName} (version ${route.version}) is unavailable: ${messageOf(err)}`);
    }
    const versions = [routes.champion, ...routes.canaries].filter((r): r is Route => r !== null).map((r) => r.version);
    return { ...metadata, name: modelName, versions };
  }

  /** Whether live deployments can be read: the server's readiness. */
  async routesReadable(): Promise<boolean> {
    try {
      await this.deps.routing.routes('');
      return true;
    } catch {
      return false;
    }
  }

  /** Ready when the deployment that would answer is loaded and ready in its runtime. */
  async ready(modelName: string, version: string | undefined): Promise<boolean> {
    let route: Route;
    try {
      route = (await this.serving(modelName, version)).route;
    } catch (err) {
      if (err instanceof GatewayError && err.statusCode === 404) return false;
      throw err;
    }
    const runtime = this.deps.runtimeFor(route.target);
    if (!runtime) return false;
    try {
      return await runtime.ready(route.runtimeName, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch {
      return false;
    }
  }
}
