import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { inferenceRequestSchema, type InferenceResponse } from '../protocol.js';
import { badRequest, type RuntimeError } from './errors.js';
import { metadataOf } from './model.js';
import { ModelRegistry } from './registry.js';

/**
 * Steward's built-in runtime: the Open Inference Protocol V2 over REST with the model repository extension,
 * answering as MLServer 1.7.1 does (same paths, status codes and `{ "error": "..." }` bodies), so one client
 * drives both. Models are ONNX graphs, linear models and rules declared in JSON (see implementations.ts).
 */
export interface BuiltinRuntimeOptions {
  /** The model repository: `<repository>/<model>/model-settings.json` plus artifacts. */
  readonly repository: string;
  readonly host?: string;
  /** 0: any free port. */
  readonly port?: number;
  readonly logger?: Logger | false;
  /** Largest request body; batches of rows can be large. */
  readonly bodyLimitBytes?: number;
}

export interface BuiltinRuntime {
  /** `http://host:port`, the V2 base URL. */
  readonly url: string;
  close(): Promise<void>;
}

const DEFAULT_BODY_LIMIT = 64 * 1024 * 1024;

export async function buildBuiltinRuntime(options: BuiltinRuntimeOptions): Promise<{ app: FastifyInstance; registry: ModelRegistry }> {
  const registry = new ModelRegistry(options.repository);
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger as FastifyBaseLogger } : {}),
    bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT,
    // A line per scoring request would cost more than the scoring; faults are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  });

  // Bodies are JSON whatever the content type says (`curl -d @request.json` sends a form type, and MLServer
  // reads it as JSON too); an empty body is no body, as for load and unload.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(badRequest(`the body is not JSON: ${(err as Error).message}`), undefined);
    }
  });

  app.setErrorHandler((err: FastifyError | RuntimeError, request, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err }, 'built-in runtime fault');
      return reply.code(500).send({ error: 'internal error in the runtime' });
    }
    return reply.code(status).send({ error: err.message });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` }));

  app.get('/v2/health/live', async (_request, reply) => reply.code(200).send());
  app.get('/v2/health/ready', async (_request, reply) => reply.code(200).send());

  type ModelParams = { name: string; version?: string };
  const metadata = async (request: { params: ModelParams }) => {
    const { name, version } = request.params;
    const served = registry.get(name, version);
    return metadataOf(name, served.version, served.model);
  };
  app.get<{ Params: ModelParams }>('/v2/models/:name', metadata);
  app.get<{ Params: ModelParams }>('/v2/models/:name/versions/:version', metadata);

  const ready = async (request: { params: ModelParams }, reply: { code(n: number): { send(): unknown } }) => {
    registry.get(request.params.name, request.params.version);
    return reply.code(200).send();
  };
  app.get<{ Params: ModelParams }>('/v2/models/:name/ready', ready);
  app.get<{ Params: ModelParams }>('/v2/models/:name/versions/:version/ready', ready);

  const infer = async (request: { params: ModelParams; body: unknown }): Promise<InferenceResponse> => {
    const { name, version } = request.params;
    const served = registry.get(name, version);
    const parsed = inferenceRequestSchema.safeParse(request.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw badRequest(`${issue?.path.length ? issue.path.join('.') : 'body'}: ${issue?.message ?? 'is not an inference request'}`);
    }
    const outputs = await served.model.infer(parsed.data);
    return { model_name: name, model_version: served.version ?? null, id: parsed.data.id ?? randomUUID(), parameters: {}, outputs };
  };
  app.post<{ Params: ModelParams }>('/v2/models/:name/infer', infer);
  app.post<{ Params: ModelParams }>('/v2/models/:name/versions/:version/infer', infer);

  app.post<{ Body: unknown }>('/v2/repository/index', async (request) => {
    const body = request.body ?? {};
    const readyOnly = typeof body === 'object' && body !== null && (body as { ready?: unknown }).ready === true;
    return registry.index(readyOnly);
  });
  app.post<{ Params: { name: string } }>('/v2/repository/models/:name/load', async (request, reply) => {
    await registry.load(request.params.name);
    return reply.code(200).send();
  });
  app.post<{ Params: { name: string } }>('/v2/repository/models/:name/unload', async (request, reply) => {
    await registry.unload(request.params.name);
    return reply.code(200).send();
  });

  app.addHook('onClose', async () => registry.close());
  return { app, registry };
}

/** Starts the runtime on `host:port` (port 0: any free port) over `repository`, which is created if missing. */
export async function startBuiltinRuntime(options: BuiltinRuntimeOptions): Promise<BuiltinRuntime> {
  await mkdir(options.repository, { recursive: true });
  const { app } = await buildBuiltinRuntime(options);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${urlHost}:${port}`, close: () => app.close() };
}
