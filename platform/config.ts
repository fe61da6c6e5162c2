import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { z } from 'zod';
import type { ReadSettings } from '../activities/read-uri.js';
import type { JwtSettings } from '../core/jwt-settings.js';
import type { CatalogLocation } from '../catalog/db.js';
import { normaliseRoot, parseNetwork, READ_SCHEMES, type ReadPolicy, type ReadScheme } from '../core/uri-policy.js';
import { parseRuntimeTargets, RuntimeTargetsError, type RuntimeTargets } from '../runtimes/targets.js';
import { workerTuning, workerTuningEnv, type WorkerTuning } from './worker-tuning.js';
import { objectStoreEnv, objectStoreSettings, readBuckets } from './object-store-settings.js';

/**
 * Every setting comes from the environment, so the same code runs on a laptop (embedded defaults), on a
 * Temporal cluster with PostgreSQL, or on Temporal Cloud. The names are documented in the README and wired
 * in docker-compose.yml; a test checks the two agree.
 */
const envSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('steward-lifecycle'),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS_CERT: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS_CA: z.string().min(1).optional(),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  STEWARD_DATA_DIR: z.string().min(1).default('.steward'),
  STEWARD_EVIDENCE_DIR: z.string().min(1).optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  STEWARD_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  STEWARD_AUDIT_SIGNING_KEY: z.string().min(1).optional(),
  STEWARD_ARCHIVE_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(300),
  STEWARD_JWKS_URL: z.url().optional(),
  STEWARD_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  STEWARD_JWT_ISSUER: z.string().min(1).optional(),
  STEWARD_JWT_AUDIENCE: z.string().min(1).optional(),
  STEWARD_JWT_ROLES_CLAIM: z.string().min(1).default('roles'),
  STEWARD_JWT_TEAMS_CLAIM: z.string().min(1).default('teams'),
  STEWARD_JWT_PRINCIPAL_CLAIM: z.string().min(1).default('sub'),
  STEWARD_WORKER_ROLE: z.enum(['all', 'lifecycle', 'compute']).default('all'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  STEWARD_READ_ROOTS: z.string().optional(),
  STEWARD_READ_SCHEMES: z.string().default('file,https'),
  STEWARD_READ_HOSTS: z.string().optional(),
  STEWARD_ALLOW_PRIVATE_NETWORKS: z.string().default('false'),
  STEWARD_MAX_ARTIFACT_BYTES: z.coerce.number().int().min(1).default(2 * 1024 ** 3),
  STEWARD_MAX_DATASET_BYTES: z.coerce.number().int().min(1).default(512 * 1024 ** 2),
  STEWARD_READ_IDLE_TIMEOUT_SECONDS: z.coerce.number().min(1).default(30),
  STEWARD_SHUTDOWN_GRACE_SECONDS: z.coerce.number().min(0).default(5),
  STEWARD_WORKER_METRICS_ADDRESS: z.string().regex(/^[^\s:/]+:\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:9464').optional(),
  STEWARD_METRICS_PUBLIC: z.enum(['true', 'false']).default('false'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  STEWARD_GATEWAY_WINDOW_SECONDS: z.coerce.number().min(0.1).default(60),
  STEWARD_GATEWAY_WINDOW_MAX_REQUESTS: z.coerce.number().int().min(1).default(100_000),
  STEWARD_GATEWAY_PUBLIC: z.enum(['true', 'false']).default('false'),
  STEWARD_GATEWAY_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(0),
  STEWARD_GATEWAY_TIMEOUT_SECONDS: z.coerce.number().min(0.1).default(30),
  STEWARD_RUNTIMES: z.string().optional(),
  STEWARD_RUNTIME_PORT: z.string().optional(),
  STEWARD_BATCH_OUTPUT_DIR: z.string().min(1).optional(),
  ...workerTuningEnv,
  ...objectStoreEnv,
});

/** Every variable Steward reads; docker-compose.yml is checked against this list. */
export const ENV_VARS = Object.keys(envSchema.shape) as readonly (keyof typeof envSchema.shape)[];

export interface TemporalSettings {
  readonly address: string;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly apiKey?: string;
  readonly tls?: { readonly cert?: string; readonly key?: string; readonly ca?: string };
}

export interface StewardConfig {
  readonly temporal: TemporalSettings;
  readonly catalog: CatalogLocation;
  readonly dataDir: string;
  /** Content-addressed evidence (full reports); outlives the catalog. */
  readonly evidenceDir: string;
  readonly host: string;
  readonly port: number;
  readonly rateLimitPerMinute: number;
  /** How often closed lifecycle runs are copied into the evidence store. */
  readonly archiveIntervalMs: number;
  /** PEM file of the Ed25519 private key that signs evidence bundles. */
  readonly auditSigningKeyPath?: string;
  /** Present when OIDC/JWT bearer tokens are accepted. */
  readonly jwt?: JwtSettings;
  readonly logLevel: z.output<typeof envSchema>['LOG_LEVEL'];
  /** What a worker process runs: lifecycles and light activities, heavy compute (drift), or both. */
  readonly workerRole: z.output<typeof envSchema>['STEWARD_WORKER_ROLE'];
  /** Where artifacts and datasets may be read from, and how much of them. */
  readonly reading: ReadSettings;
  /** How long a stopping worker lets running activities finish before cancelling them. */
  readonly shutdownGraceMs: number;
  readonly telemetry: TelemetrySettings;
  /** The scoring gateway's windows, authentication, rate limit and runtime timeout. */
  readonly gateway: GatewaySettings;
  /** Deployment targets (STEWARD_RUNTIMES): which runtime serves a manifest's `deploymentTarget`. */
  readonly runtimes: RuntimeTargets;
  /** Where batch scoring writes its predictions. */
  readonly batchOutputDir: string;
  /** The lifecycle worker's cache and task slots (STEWARD_WORKER_*). */
  readonly workerTuning: WorkerTuning;
}

export interface GatewaySettings {
  readonly windowMs: number;
  readonly maxWindowRequests: number;
  readonly public: boolean;
  /** 0: scoring is not rate-limited. */
  readonly rateLimitPerMinute: number;
  readonly timeoutMs: number;
}

export interface TelemetrySettings {
  /**
   * host:port where a worker process serves the Temporal SDK's Prometheus metrics; in the API process, the
   * address whose SDK metrics `/metrics` appends to Steward's own.
   */
  readonly workerMetricsAddress?: string;
  /** `/metrics` without a token (otherwise any signed-in role may read it). */
  readonly metricsPublic: boolean;
  /** OTLP/HTTP collector for traces; none are sent when absent. */
  readonly otlpEndpoint?: string;
}

export class ConfigError extends Error {}

const list = (text: string | undefined, separator: string) => (text ?? '').split(separator).map((s) => s.trim()).filter(Boolean);

/** An absolute root with symlinks resolved when it exists (a root created later is resolved when read). */
function readRoot(path: string): string {
  const absolute = resolve(path);
  try {
    return normaliseRoot(realpathSync(absolute));
  } catch {
    return normaliseRoot(absolute);
  }
}

/**
 * The read policy: by default the example models (`examples/`) and `$STEWARD_DATA_DIR/artifacts`, https and
 * file URIs, any public host, and no loopback, private or link-local address.
 */
function readSettings(e: z.output<typeof envSchema>): ReadSettings {
  const roots = e.STEWARD_READ_ROOTS !== undefined ? list(e.STEWARD_READ_ROOTS, delimiter) : ['examples', join(e.STEWARD_DATA_DIR, 'artifacts')];
  const schemes = list(e.STEWARD_READ_SCHEMES, ',').map((s) => s.toLowerCase());
  const unknown = schemes.filter((s) => !(READ_SCHEMES as readonly string[]).includes(s));
  if (unknown.length) throw new ConfigError(`invalid configuration: STEWARD_READ_SCHEMES: ${unknown.join(', ')} cannot be read; use ${READ_SCHEMES.join(', ')}`);
  const networks = e.STEWARD_ALLOW_PRIVATE_NETWORKS.trim().toLowerCase();
  let privateNetworks: ReadPolicy['privateNetworks'];
  if (networks === 'true') privateNetworks = 'all';
  else if (networks === 'false' || networks === '') privateNetworks = [];
  else {
    privateNetworks = list(networks, ',');
    const bad = privateNetworks.filter((n) => !parseNetwork(n));
    if (bad.length) throw new ConfigError(`invalid configuration: STEWARD_ALLOW_PRIVATE_NETWORKS: ${bad.join(', ')} is not an address or CIDR range (or use true / false)`);
  }
  const hosts = list(e.STEWARD_READ_HOSTS, ',').map((h) => h.toLowerCase());
  let buckets: ReturnType<typeof readBuckets>;
  try {
    buckets = readBuckets(e, schemes);
  } catch (err) {
    throw new ConfigError(`invalid configuration: ${(err as Error).message}`);
  }
  return {
    policy: { roots: roots.map(readRoot), schemes: schemes as ReadScheme[], hosts: hosts.length ? hosts : null, privateNetworks, ...(buckets.length ? { buckets } : {}) },
    maxArtifactBytes: e.STEWARD_MAX_ARTIFACT_BYTES,
    maxDatasetBytes: e.STEWARD_MAX_DATASET_BYTES,
    idleTimeoutMs: e.STEWARD_READ_IDLE_TIMEOUT_SECONDS * 1000,
    objectStores: objectStoreSettings(e),
  };
}

/** The read settings alone, for code built without a full configuration (tests, embedded tools). */
export function readSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ReadSettings {
  return loadConfig(env).reading;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): StewardConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  const wantsTls = e.TEMPORAL_TLS_CERT || e.TEMPORAL_TLS_KEY || e.TEMPORAL_TLS_CA;
  if (e.STEWARD_JWKS_URL && e.STEWARD_JWT_SECRET) {
    throw new ConfigError('invalid configuration: set STEWARD_JWKS_URL or STEWARD_JWT_SECRET, not both');
  }
  if (Boolean(e.TEMPORAL_TLS_CERT) !== Boolean(e.TEMPORAL_TLS_KEY)) {
    throw new ConfigError('invalid configuration: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together');
  }
  // A TLS file that is not there would otherwise fail only at connect time, without the variable's name.
  for (const name of ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CA'] as const) {
    const path = e[name];
    if (path && !existsSync(path)) throw new ConfigError(`invalid configuration: ${name}: no file at ${path}`);
  }
  return {
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      ...(e.TEMPORAL_API_KEY ? { apiKey: e.TEMPORAL_API_KEY } : {}),
      ...(wantsTls ? { tls: { cert: e.TEMPORAL_TLS_CERT, key: e.TEMPORAL_TLS_KEY, ca: e.TEMPORAL_TLS_CA } } : {}),
    },
    catalog: e.DATABASE_URL
      ? { kind: 'postgres', url: e.DATABASE_URL }
      : { kind: 'embedded', dataDir: join(e.STEWARD_DATA_DIR, 'catalog') },
    dataDir: e.STEWARD_DATA_DIR,
    evidenceDir: e.STEWARD_EVIDENCE_DIR ?? join(e.STEWARD_DATA_DIR, 'evidence'),
    host: e.HOST,
    port: e.PORT,
    rateLimitPerMinute: e.STEWARD_RATE_LIMIT_PER_MINUTE,
    archiveIntervalMs: e.STEWARD_ARCHIVE_INTERVAL_SECONDS * 1000,
    ...(e.STEWARD_AUDIT_SIGNING_KEY ? { auditSigningKeyPath: e.STEWARD_AUDIT_SIGNING_KEY } : {}),
    ...(e.STEWARD_JWKS_URL || e.STEWARD_JWT_SECRET
      ? {
          jwt: {
            ...(e.STEWARD_JWKS_URL ? { jwksUrl: e.STEWARD_JWKS_URL } : { secret: e.STEWARD_JWT_SECRET! }),
            ...(e.STEWARD_JWT_ISSUER ? { issuer: e.STEWARD_JWT_ISSUER } : {}),
            ...(e.STEWARD_JWT_AUDIENCE ? { audience: e.STEWARD_JWT_AUDIENCE } : {}),
            rolesClaim: e.STEWARD_JWT_ROLES_CLAIM,
            teamsClaim: e.STEWARD_JWT_TEAMS_CLAIM,
            principalClaim: e.STEWARD_JWT_PRINCIPAL_CLAIM,
          },
        }
      : {}),
    logLevel: e.LOG_LEVEL,
    workerRole: e.STEWARD_WORKER_ROLE,
    reading: readSettings(e),
    shutdownGraceMs: e.STEWARD_SHUTDOWN_GRACE_SECONDS * 1000,
    telemetry: {
      ...(e.STEWARD_WORKER_METRICS_ADDRESS ? { workerMetricsAddress: e.STEWARD_WORKER_METRICS_ADDRESS } : {}),
      metricsPublic: e.STEWARD_METRICS_PUBLIC === 'true',
      ...(e.OTEL_EXPORTER_OTLP_ENDPOINT ? { otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
    },
    gateway: {
      windowMs: e.STEWARD_GATEWAY_WINDOW_SECONDS * 1000,
      maxWindowRequests: e.STEWARD_GATEWAY_WINDOW_MAX_REQUESTS,
      public: e.STEWARD_GATEWAY_PUBLIC === 'true',
      rateLimitPerMinute: e.STEWARD_GATEWAY_RATE_LIMIT_PER_MINUTE,
      timeoutMs: e.STEWARD_GATEWAY_TIMEOUT_SECONDS * 1000,
    },
    runtimes: runtimeTargets(e),
    batchOutputDir: e.STEWARD_BATCH_OUTPUT_DIR ?? join(e.STEWARD_DATA_DIR, 'batch'),
    workerTuning: tuning(e),
  };
}

function tuning(e: z.output<typeof envSchema>): WorkerTuning {
  try {
    return workerTuning(e);
  } catch (err) {
    throw new ConfigError(`invalid configuration: ${(err as Error).message}`);
  }
}

function runtimeTargets(e: z.output<typeof envSchema>): RuntimeTargets {
  try {
    return parseRuntimeTargets(e);
  } catch (err) {
    if (err instanceof RuntimeTargetsError) throw new ConfigError(`invalid configuration: ${err.message}`);
    throw err;
  }
}

/** TLS material for a Temporal connection, read from the configured PEM files. */
export function temporalTlsOptions(settings: TemporalSettings) {
  if (settings.apiKey && !settings.tls) return true as const; // Temporal Cloud API keys require TLS.
  if (!settings.tls) return undefined;
  const read = (path?: string) => (path ? readFileSync(path) : undefined);
  const cert = read(settings.tls.cert);
  const key = read(settings.tls.key);
  return {
    ...(cert && key ? { clientCertPair: { crt: cert, key } } : {}),
    ...(settings.tls.ca ? { serverRootCACertificate: read(settings.tls.ca) } : {}),
  };
}
