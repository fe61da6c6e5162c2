import { WorkflowNotFoundError } from '@temporalio/client';
import type { Logger } from 'pino';
import type { CatalogDb } from '../../catalog/db.js';
import { parseModelVersionId } from '../../core/model-id.js';
import { GATEWAY_ROUTES_TTL_MS } from '../../core/routing-drain.js';
import type { GatewaySettings } from '../../platform/config.js';
import type { ModelRuntime } from '../../runtimes/runtime.js';
import { createRuntimes, type RuntimeTargets } from '../../runtimes/targets.js';
import { observationSignal } from '../../workflows/messages.js';
import type { Authenticator } from '../authn.js';
import type { Lifecycles } from '../lifecycles.js';
import { cachedAuthenticator } from './auth-cache.js';
import type { Tolerance } from './compare.js';
import { Gateway } from './gateway.js';
import { RequestLog } from './request-log.js';
import type { Random } from './router.js';
import { createRoutingTable } from './routing-table.js';
import { GatewayWindows, type SendObservation } from './windows.js';

export { Gateway, GatewayError } from './gateway.js';
export type { GatewaySettings };

/** The runtime serving a deployment target, or undefined when none is configured for it. */
export type RuntimeResolver = (target: string) => ModelRuntime | undefined;

export const DEFAULT_GATEWAY_SETTINGS: GatewaySettings = { windowMs: 60_000, maxWindowRequests: 100_000, public: false, rateLimitPerMinute: 0, timeoutMs: 30_000 };

export interface GatewayOptions extends Partial<GatewaySettings> {
  /** The configured deployment targets; the gateway keeps one runtime client per target it scores on. */
  readonly targets?: RuntimeTargets;
  /** Instead of `targets`: the runtime for a target (tests, embedding). */
  readonly runtimeFor?: RuntimeResolver;
  /** Tests: a seeded traffic split and a tighter comparison. */
  readonly random?: Random;
  readonly tolerance?: Tolerance;
  /**
   * How long the routing table is served before the catalog is read again. Workers unload a retired version
   * only after `routingDrainMs` of the same TTL (core/routing-drain.ts): change both together.
   */
  readonly routesTtlMs?: number;
}

export interface GatewayService {
  readonly gateway: Gateway;
  readonly settings: GatewaySettings;
  readonly windows: GatewayWindows;
  readonly requestLog: RequestLog;
  /** The API's authenticator with principals cached briefly, for the scoring hot path. */
  readonly authenticate: Authenticator;
  /** Closes open windows, sends them, and writes what is buffered: at shutdown. */
  close(): Promise<void>;
}

/** Sends a closed window to its version's lifecycle; an ended lifecycle is `gone`, anything else is retried. */
export function lifecycleSender(lifecycles: Lifecycles): SendObservation {
  return async (modelVersionId, observation) => {
    const ref = parseModelVersionId(modelVersionId);
    if (!ref.ok) return 'gone';
    try {
      await lifecycles.handle(ref.value).signal(observationSignal, observation);
      return 'sent';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 'gone';
      throw err;
    }
  };
}

/** The API process scores; workers stage and load models. */
const refuseStaging = async () => {
  throw new Error('the API process does not stage models; deployments load them from a worker');
};

export function createGatewayService(deps: {
  db: CatalogDb;
  lifecycles: Lifecycles;
  authenticate: Authenticator;
  options?: GatewayOptions;
  logger?: Logger | false;
}): GatewayService {
  const options = deps.options ?? {};
  const settings: GatewaySettings = {
    windowMs: options.windowMs ?? DEFAULT_GATEWAY_SETTINGS.windowMs,
    maxWindowRequests: options.maxWindowRequests ?? DEFAULT_GATEWAY_SETTINGS.maxWindowRequests,
    public: options.public ?? DEFAULT_GATEWAY_SETTINGS.public,
    rateLimitPerMinute: options.rateLimitPerMinute ?? DEFAULT_GATEWAY_SETTINGS.rateLimitPerMinute,
    timeoutMs: options.timeoutMs ?? DEFAULT_GATEWAY_SETTINGS.timeoutMs,
  };
  const logger = deps.logger || undefined;
  const log = (level: 'warn' | 'info', message: string, detail: Record<string, unknown> = {}) => logger?.[level](detail, message);
  const requestLog = new RequestLog(deps.db, { log });
  const windows = new GatewayWindows({
    windowMs: settings.windowMs,
    maxRequests: settings.maxWindowRequests,
    send: lifecycleSender(deps.lifecycles),
    closed: (route, observation, window) =>
      requestLog.addWindow({
        id: observation.id,
        modelVersionId: route.modelVersionId,
        deploymentId: route.deploymentId,
        start: new Date(window.start),
        end: new Date(window.end),
        observation,
        sample: window.sample,
      }),
    log,
  });
  const clients = !options.runtimeFor && options.targets ? createRuntimes(options.targets, { stage: refuseStaging }) : null;
  const targetNames = new Set(options.targets?.names ?? []);
  const runtimeFor: RuntimeResolver = options.runtimeFor ?? ((target) => (clients && targetNames.has(target) ? clients.forTarget(target) : undefined));
  const routing = createRoutingTable(deps.db, { ttlMs: options.routesTtlMs ?? GATEWAY_ROUTES_TTL_MS, onError: (err) => log('warn', 'gateway routes not refreshed', { err: String(err) }) });
  const gateway = new Gateway({
    routing,
    runtimeFor,
    windows,
    requestLog,
    timeoutMs: settings.timeoutMs,
    log,
    ...(options.random ? { random: options.random } : {}),
    ...(options.tolerance ? { tolerance: options.tolerance } : {}),
  });
  windows.start();
  requestLog.start();
  return {
    gateway,
    settings,
    windows,
    requestLog,
    authenticate: cachedAuthenticator(deps.authenticate),
    async close() {
      await gateway.settled();
      await windows.stop();
      await requestLog.stop();
      await clients?.close();
    },
  };
}
