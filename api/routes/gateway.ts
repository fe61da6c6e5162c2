import type { FastifyError, FastifyReply, onRequestAsyncHookHandler } from 'fastify';
import type { FastifyRouteSchemaDef, FastifyValidationResult } from 'fastify/types/schema.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { hasZodFastifySchemaValidationErrors, validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MODEL_NAME_PATTERN, SEMVER_PATTERN } from '../../core/model-id.js';
import { inferenceRequestSchema } from '../../runtimes/protocol.js';
import { authorize, isRole } from '../auth.js';
import { ApiError, unavailableDependency } from '../errors.js';
import { GatewayError, type GatewayService } from '../gateway/index.js';
import { InferenceBody } from '../gateway/request-body.js';
import { hashToken } from '../tokens.js';

const modelParams = z.object({ name: z.string().regex(MODEL_NAME_PATTERN, 'must be a model name (lower-case letters, digits, ".", "_", "-")') });
const versionParams = modelParams.extend({ version: z.string().regex(SEMVER_PATTERN, 'must be a semver version such as 1.2.0') });

/**
 * Inference bodies arrive as bytes (see the content-type parser below) and are read by `InferenceBody`,
 * which checks the envelope without building the tensors; the schema stays on the route for the OpenAPI
 * document and for the params, which are validated as everywhere else.
 */
function bytesBody<S>(route: FastifyRouteSchemaDef<S>): FastifyValidationResult {
  return route.httpPart === 'body' ? (value: unknown) => ({ value }) : validatorCompiler(route as unknown as FastifyRouteSchemaDef<z.ZodType>);
}

/** Where the scoring gateway's routes are; the API's per-caller rate limit leaves them to the gateway's own. */
export const SCORING_PREFIX = '/v2/';

/**
 * The scoring gateway on the Open Inference Protocol (KServe V2), so KServe and MLServer clients point at
 * Steward unchanged: `{name}` is the model's name, and the version that answers is chosen by the model's
 * live traffic split (or named in the path). Errors are the protocol's `{ "error": "..." }`.
 */
export const gatewayRoutes: FastifyPluginAsyncZod<{ service: GatewayService }> = async (app, { service }) => {
  const { gateway, settings } = service;

  // The protocol's error body here, not the API's: V2 clients read `error` as a string.
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const where = err.validationContext ?? 'body';
      const message = err.validation.map((v) => `${[where, ...v.instancePath.split('/').filter(Boolean)].join('.')}: ${v.message ?? 'is invalid'}`).join('; ');
      return reply.status(400).send({ error: message });
    }
    if (err instanceof GatewayError || err instanceof ApiError) return reply.status(err.statusCode).send({ error: err.message });
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return reply.status(err.statusCode).send({ error: err.message });
    if (unavailableDependency(err)) {
      request.log.warn({ err }, 'scoring dependency unavailable');
      return reply.status(503).header('retry-after', '5').send({ error: 'the catalog is unavailable; retry after 5 s' });
    }
    request.log.error({ err }, 'unhandled scoring error');
    return reply.status(500).send({ error: 'internal error; see the server log' });
  });

  // V2 bodies are JSON whatever the content type says, as MLServer reads them (`curl -d @request.json` sends
  // a form type); they are kept as bytes, so the runtime gets what the caller sent (scoped to these routes).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const guards: onRequestAsyncHookHandler[] = [];
  if (settings.rateLimitPerMinute > 0) {
    const key = (authorization: string | undefined, ip: string) => (authorization ? `g:${hashToken(authorization)}` : `ga:${ip}`);
    guards.push(app.rateLimit({ max: settings.rateLimitPerMinute, keyGenerator: (request) => key(request.headers.authorization, request.ip) }) as onRequestAsyncHookHandler);
  }
  if (!settings.public) guards.push(authorize(service.authenticate, isRole('engineer', 'scorer', 'admin'), 'engineer, scorer or admin'));
  const guarded = { onRequest: guards };
  const security = settings.public ? { security: [] } : {};

  // Probes stay open, as Kubernetes and load balancers call them without credentials; they reveal nothing.
  app.get('/v2/health/live', { schema: { security: [] } }, async () => ({ live: true }));
  app.get('/v2/health/ready', { schema: { security: [] } }, async (_request, reply) => {
    const ready = await gateway.routesReadable();
    return reply.status(ready ? 200 : 503).send({ ready });
  });

  app.get('/v2/models/:name', { schema: { ...security, params: modelParams }, ...guarded }, async (request) => gateway.metadata(request.params.name, undefined));
  app.get('/v2/models/:name/versions/:version', { schema: { ...security, params: versionParams }, ...guarded }, async (request) =>
    gateway.metadata(request.params.name, request.params.version),
  );

  // The protocol's readiness: 200 ready, a 4xx not ready.
  const readiness = async (name: string, version: string | undefined) => {
    if (await gateway.ready(name, version)) return { name, ready: true };
    throw new GatewayError(400, `model ${name}${version ? ` version ${version}` : ''} is not ready`);
  };
  app.get('/v2/models/:name/ready', { schema: { ...security, params: modelParams }, ...guarded }, async (request) => readiness(request.params.name, undefined));
  app.get('/v2/models/:name/versions/:version/ready', { schema: { ...security, params: versionParams }, ...guarded }, async (request) =>
    readiness(request.params.name, request.params.version),
  );

  const infer = async (name: string, version: string | undefined, body: unknown, reply: FastifyReply) => {
    const request = InferenceBody.read(Buffer.isBuffer(body) ? body : Buffer.alloc(0));
    const answer = await gateway.inferBytes(name, version, request);
    return reply.header('content-type', 'application/json; charset=utf-8').send(answer);
  };
  app.post('/v2/models/:name/infer', { schema: { ...security, params: modelParams, body: inferenceRequestSchema }, validatorCompiler: bytesBody, ...guarded }, async (request, reply) =>
    infer(request.params.name, undefined, request.body, reply),
  );
  app.post('/v2/models/:name/versions/:version/infer', { schema: { ...security, params: versionParams, body: inferenceRequestSchema }, validatorCompiler: bytesBody, ...guarded }, async (request, reply) =>
    infer(request.params.name, request.params.version, request.body, reply),
  );
};
