import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { CatalogDb } from '../catalog/db.js';
import type { JwtSettings } from '../core/jwt-settings.js';
import { isRole, type Principal } from '../core/principal.js';
import { principalForToken } from './tokens.js';

/**
 * Who is calling. Two real modes, tried in order: OIDC/JWT bearer tokens verified with `jose` (against a
 * JWKS URL or a shared secret, with roles from a configurable claim), and Steward's own API tokens, stored
 * only as hashes.
 */
export type { JwtSettings };

export type Authenticator = (bearer: string) => Promise<Principal | null>;

function claimAt(payload: JWTPayload, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), payload);
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? v.split(/[\s,]+/).filter(Boolean) : []);

const looksLikeJwt = (token: string) => /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);

export function createAuthenticator(db: CatalogDb, jwt?: JwtSettings): Authenticator {
  const key: Uint8Array | JWTVerifyGetKey | undefined = jwt?.jwksUrl
    ? createRemoteJWKSet(new URL(jwt.jwksUrl))
    : jwt?.secret
      ? new TextEncoder().encode(jwt.secret)
      : undefined;

  return async (bearer) => {
    if (key && jwt && looksLikeJwt(bearer)) {
      try {
        const { payload } = await jwtVerify(bearer, key as JWTVerifyGetKey, {
          ...(jwt.issuer ? { issuer: jwt.issuer } : {}),
          ...(jwt.audience ? { audience: jwt.audience } : {}),
        });
        const id = claimAt(payload, jwt.principalClaim);
        if (typeof id !== 'string' || !id) return null;
        // Unknown role names grant nothing, rather than failing the whole token.
        const roles = strings(claimAt(payload, jwt.rolesClaim)).filter(isRole);
        return { id, roles, teams: strings(claimAt(payload, jwt.teamsClaim)) };
      } catch {
        return null;
      }
    }
    return principalForToken(db, bearer);
  };
}
