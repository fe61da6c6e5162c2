import { isGrpcServiceError, ServiceError } from '@temporalio/client';
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

/** One shape for every error the API returns: a stable code, a sentence, and the offending fields. */
export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly issues?: readonly { readonly field: string; readonly problem: string }[];
  };
}

/** Thrown by handlers for expected failures: unknown model, wrong role, conflicting state. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly issues?: ErrorBody['error']['issues'],
  ) {
    super(message);
  }
}

function fieldPath(context: string | undefined, instancePath: string): string {
  const path = instancePath.replace(/^\//, '').replaceAll('/', '.');
  return [context ?? 'body', path].filter(Boolean).join('.');
}

/** gRPC codes that mean "Temporal is not there right now", as opposed to a wrong request. */
const TEMPORAL_DOWN = new Set<number>([14 /* UNAVAILABLE */, 4 /* DEADLINE_EXCEEDED */, 8 /* RESOURCE_EXHAUSTED */]);

/** Node socket errors and PostgreSQL's connection classes (08: connection exception, 57P: operator intervention). */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);
const PG_DOWN = /^(08|57P0[1-3]|53300)/;
const PG_POOL_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed|Cannot use a pool after calling end/i;

/** The dependency an error says is unavailable, if it says so; `null` for every other error. */
export function unavailableDependency(err: unknown): 'temporal' | 'catalog' | null {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth += 1) {
    if (isGrpcServiceError(e)) return TEMPORAL_DOWN.has(e.code) ? 'temporal' : null;
    if (e instanceof ServiceError) continue;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (SOCKET_CODES.has(code) || PG_DOWN.test(code))) return 'catalog';
    if (PG_POOL_MESSAGES.test(e.message)) return 'catalog';
  }
  return null;
}

/** Seconds a client should wait before retrying a request that met an outage. */
const RETRY_AFTER_SECONDS = 5;

/** Which part of the request a Fastify client error is about: the body (unparsable, a forbidden `__proto__` key, too large) or its content type. */
function clientErrorField(err: FastifyError): string | null {
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'headers.content-type';
  if (err instanceof SyntaxError || err.code?.startsWith('FST_ERR_CTP')) return 'body';
  return null;
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues = err.validation.map((v) => ({
        field: fieldPath(err.validationContext, v.instancePath),
        problem: v.message ?? 'is invalid',
      }));
      const body: ErrorBody = {
        error: {
          code: 'invalid_request',
          message: issues.map((i) => `${i.field}: ${i.problem}`).join('; '),
          issues,
        },
      };
      return reply.status(400).send(body);
    }
    if (err instanceof ApiError) {
      const body: ErrorBody = { error: { code: err.code, message: err.message, ...(err.issues ? { issues: err.issues } : {}) } };
      return reply.status(err.statusCode).send(body);
    }
    // Fastify's own client errors: malformed JSON, body too large, wrong content type.
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      const field = clientErrorField(err);
      const issues = field ? { issues: [{ field, problem: err.message }] } : {};
      return reply.status(err.statusCode).send({ error: { code: err.code ?? 'bad_request', message: err.message, ...issues } });
    }
    const dependency = unavailableDependency(err);
    if (dependency) {
      request.log.warn({ err }, `${dependency} unavailable`);
      const what = dependency === 'temporal' ? 'Temporal' : 'the catalog database';
      return reply
        .status(503)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .send({ error: { code: `${dependency}_unavailable`, message: `${what} is unavailable; retry after ${RETRY_AFTER_SECONDS} s` } });
    }
    request.log.error({ err }, 'unhandled error');
    return reply.status(500).send({ error: { code: 'internal', message: 'internal error; see the server log' } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url}` } }),
  );
}
