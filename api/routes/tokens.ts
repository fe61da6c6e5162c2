import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authorize, isRole, principalOf } from '../auth.js';
import { ApiError } from '../errors.js';
import type { RouteDeps } from '../server.js';
import { issueApiToken, listApiTokens, principalId, revokeApiToken, revokeApiTokens, tokenRequestSchema } from '../tokens.js';

const listQuery = z.strictObject({
  principal: principalId.optional(),
  includeRevoked: z.enum(['true', 'false'], 'must be true or false').optional(),
});
const revokeQuery = z.strictObject({ principal: principalId });
const idParams = z.strictObject({ id: z.coerce.number('must be a token id').int('must be a token id').positive('must be a token id').max(2 ** 31 - 1) });

/**
 * API tokens over HTTP (admins): the way to manage tokens while a process holds an embedded catalog, and the
 * same tables as `steward token` on PostgreSQL. The token is in the creation response only; each action is
 * logged with the admin who took it (never the token).
 */
export const tokenRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, authenticate }) => {
  const admin = authorize(authenticate, isRole('admin'), 'admin');

  app.post('/tokens', { schema: { body: tokenRequestSchema }, onRequest: admin }, async (request, reply) => {
    const issued = await issueApiToken(db, request.body);
    request.log.info({ action: 'token.create', by: principalOf(request).id, tokenId: issued.id, principal: issued.principal, roles: issued.roles, teams: issued.teams }, 'API token created');
    return reply.status(201).send(issued);
  });

  app.get('/tokens', { schema: { querystring: listQuery }, onRequest: admin }, async (request) => ({
    items: await listApiTokens(db, {
      ...(request.query.principal !== undefined ? { principal: request.query.principal } : {}),
      includeRevoked: request.query.includeRevoked === 'true',
    }),
  }));

  app.delete('/tokens/:id', { schema: { params: idParams }, onRequest: admin }, async (request) => {
    const revoked = await revokeApiToken(db, request.params.id);
    if (!revoked) throw new ApiError(404, 'token_not_found', `no active token ${request.params.id}`, [{ field: 'params.id', problem: 'names no active token' }]);
    request.log.info({ action: 'token.revoke', by: principalOf(request).id, tokenId: revoked.id, principal: revoked.principal }, 'API token revoked');
    return revoked;
  });

  app.delete('/tokens', { schema: { querystring: revokeQuery }, onRequest: admin }, async (request) => {
    const revoked = await revokeApiTokens(db, request.query.principal);
    request.log.info({ action: 'token.revoke', by: principalOf(request).id, principal: request.query.principal, count: revoked }, 'API tokens revoked');
    return { principal: request.query.principal, revoked };
  });
};
