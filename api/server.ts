import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Tracer } from '@opentelemetry/api';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { CatalogDb } from '../catalog/db.js';
import type { LifecyclePolicy } from '../core/policy.js';
import type { ContentStore } from '../evidence/content-store.js';
import { readSettingsFromEnv, type StewardConfig } from '../platform/config.js';
import type { ReadPolicy } from '../core/uri-policy.js';
import rateLimit from '@fastify/rate-limit';
import { createAuthenticator, type Authenticator, type JwtSettings } from './authn.js';
import { ApiError, installErrorHandler } from './errors.js';
import { hashToken } from './tokens.js';
import { inventoryRoutes } from './routes/inventory.js';
import { webhookRoutes } from './routes/webhooks.js';
import { auditRoutes } from './routes/audit.js';
import { Lifecycles } from './lifecycles.js';
import { approvalRoutes } from './routes/approvals.js';
import { healthRoutes } from './routes/health.js';
import { modelRoutes } from './routes/models.js';
import { monitoringRoutes } from './routes/monitoring.js';
import { batchScoringRoutes } from './routes/batch-scoring.js';
import { templateRoutes } from './routes/templates.js';
import { tokenRoutes } from './routes/tokens.js';
import { trainingRoutes } from './routes/training.js';
import { metricsRoutes } from './routes/metrics.js';
import { traceRequests } from './tracing.js';
import { createGatewayService, type GatewayOptions } from './gateway/index.js';
import { gatewayRoutes, SCORING_PREFIX } from './routes/gateway.js';

export interface ApiOptions {
  readonly client: Client;
  readonly db: CatalogDb;
  readonly evidence: ContentStore;
  readonly taskQueue: string;
  /**
   * Development and tests only: every lifecycle runs this bare policy instead of its manifest's template.
   * Without it (always, in production) the manifest's template decides.
   */
  readonly policy?: LifecyclePolicy;
  readonly logger?: Logger | false;
  /** Accept OIDC/JWT bearer tokens as well as API tokens. */
  readonly jwt?: JwtSettings;
  /** Requests per minute per caller (token, else address). */
  readonly rateLimitPerMinute?: number;
  /** Ed25519 key that signs evidence bundles. */
  readonly signingKey?: KeyObject;
  /** Locations manifests, samples and webhooks may name; the environment's when absent. */
  readonly readPolicy?: ReadPolicy;
  /** Each request becomes a server span of this tracer (the root of a lifecycle's trace). */
  readonly tracer?: Tracer;
  /** `/metrics`: open without a token, and where a worker serves the SDK's metrics to append. */
  readonly metrics?: MetricsOptions;
  /** The scoring gateway (`/v2/...`): runtimes per deployment target, windows, authentication. */
  readonly gateway?: GatewayOptions;
}

export interface MetricsOptions {
  readonly public?: boolean;
  readonly sdkAddress?: string;
}

export interface RouteDeps {
  readonly db: CatalogDb;
  readonly authenticate: Authenticator;
  readonly evidence: ContentStore;
  readonly client: Client;
  readonly lifecycles: Lifecycles;
  readonly taskQueue: string;
  readonly signingKey: KeyObject | undefined;
  readonly readPolicy: ReadPolicy;
  readonly metrics: MetricsOptions;
}

const DEFAULT_RATE_LIMIT_PER_MINUTE = 600;
const callerKey = (authorization: string | undefined, ip: string) => (authorization ? `t:${hashToken(authorization)}` : `a:${ip}`);

/** The API options that come from configuration, for the entry points that read it. */
export function apiOptionsFrom(config: StewardConfig): Pick<ApiOptions, 'taskQueue' | 'rateLimitPerMinute' | 'jwt' | 'signingKey' | 'readPolicy' | 'metrics' | 'gateway'> {
  return {
    gateway: { ...config.gateway, targets: config.runtimes },
    taskQueue: config.temporal.taskQueue,
    metrics: { public: config.telemetry.metricsPublic, ...(config.telemetry.workerMetricsAddress ? { sdkAddress: config.telemetry.workerMetricsAddress } : {}) },
    readPolicy: config.reading.policy,
    rateLimitPerMinute: config.rateLimitPerMinute,
    ...(config.jwt ? { jwt: config.jwt } : {}),
    ...(config.auditSigningKeyPath ? { signingKey: createPrivateKey(readFileSync(config.auditSigningKeyPath)) } : {}),
  };
}

/** Request bodies are manifests and decisions, never artifacts. */
const BODY_LIMIT_BYTES = 1024 * 1024;

export async function buildApi(options: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger as FastifyBaseLogger } : {}),
    bodyLimit: BODY_LIMIT_BYTES,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('principal', null);
  if (options.tracer) traceRequests(app, options.tracer);
  installErrorHandler(app);
  const perCaller = options.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE;
  await app.register(rateLimit, {
    // Applied below as the first hooks of every request, not per route: a route's guard runs before any
    // route-level hook, so refused credentials and unknown routes would never be counted.
    global: false,
    timeWindow: 60_000,
    errorResponseBuilder: (_request, context) =>
      new ApiError(429, 'rate_limited', `more than ${context.max} requests a minute; retry after ${context.after}`),
  });
  // Per caller: the credential's hash when there is one (never the credential itself), else the address.
  // Scoring traffic is a service's volume, not a person's: the gateway's routes have their own limit.
  const perCallerLimit = app.rateLimit({ max: perCaller, keyGenerator: (request) => callerKey(request.headers.authorization, request.ip) });
  app.addHook('onRequest', async function (request, reply) {
    if (!request.url.startsWith(SCORING_PREFIX)) await perCallerLimit.call(this, request, reply);
  });
  // Bodies are parsed only for a route that exists, after its guard (an onRequest hook) has authenticated and
  // authorised the caller: an unknown route answers 404 before a byte of its body is read.
  app.addHook('onRequest', async (request) => {
    if (request.is404) throw new ApiError(404, 'not_found', `no route ${request.method} ${request.url}`);
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Steward API', version: '0.1.0', description: 'ModelOps lifecycles on Temporal' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const deps: RouteDeps = {
    db: options.db,
    authenticate: createAuthenticator(options.db, options.jwt),
    evidence: options.evidence,
    client: options.client,
    lifecycles: new Lifecycles(options.client, options.taskQueue, options.policy),
    taskQueue: options.taskQueue,
    signingKey: options.signingKey,
    readPolicy: options.readPolicy ?? readSettingsFromEnv().policy,
    metrics: options.metrics ?? {},
  };
  await app.register(healthRoutes, deps);
  await app.register(modelRoutes, deps);
  await app.register(monitoringRoutes, deps);
  await app.register(batchScoringRoutes, deps);
  await app.register(approvalRoutes, deps);
  await app.register(inventoryRoutes, deps);
  await app.register(webhookRoutes, deps);
  await app.register(auditRoutes, deps);
  await app.register(templateRoutes, deps);
  await app.register(metricsRoutes, deps);
  await app.register(tokenRoutes, deps);
  await app.register(trainingRoutes, deps);
  const gateway = createGatewayService({ db: options.db, lifecycles: deps.lifecycles, authenticate: deps.authenticate, logger: options.logger ?? false, ...(options.gateway ? { options: options.gateway } : {}) });
  app.addHook('onClose', () => gateway.close());
  await app.register(gatewayRoutes, { service: gateway });
  return app;
}
