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
      return reply.status(err.statusCode).send({ error: { code: err.code ?? 'bad_request', message: err.message } });
    }
    request.log.error({ err }, 'unhandled error');
    return reply.status(500).send({ error: { code: 'internal', message: 'internal error; see the server log' } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url}` } }),
  );
}
