import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Principal, Role } from '../core/principal.js';
import type { Authenticator } from './authn.js';
import { ApiError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export type RoleRule = (role: Role) => boolean;

export const anyRole: RoleRule = () => true;
export const isRole =
  (...wanted: Role[]): RoleRule =>
  (role) =>
    wanted.includes(role);
export const isApprover: RoleRule = (role) => role.startsWith('approver:');

/** The authenticated caller; only valid inside a route guarded by `authorize`. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route is missing its authorize() guard');
  return request.principal;
}

/**
 * Route guard: resolves the bearer token to a principal and checks that one of its roles passes `rule`.
 * 401 without a valid token, 403 without a fitting role.
 */
export function authorize(authenticate: Authenticator, rule: RoleRule, describe: string): onRequestAsyncHookHandler {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : null;
    if (!token) throw new ApiError(401, 'unauthenticated', 'send a token as "Authorization: Bearer <token>"');
    const principal = await authenticate(token);
    if (!principal) throw new ApiError(401, 'unauthenticated', 'the token is unknown, revoked, expired or not signed by a trusted issuer');
    if (!principal.roles.some(rule)) {
      throw new ApiError(403, 'forbidden', `${principal.id} lacks the role this needs: ${describe}`);
    }
    request.principal = principal;
  };
}
