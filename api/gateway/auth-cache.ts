import type { Principal } from '../../core/principal.js';
import type { Authenticator } from '../authn.js';
import { hashToken } from '../tokens.js';

export interface AuthCacheOptions {
  /** How long a resolved token is trusted without asking again (a revocation holds after at most this). */
  readonly ttlMs?: number;
  /** How long an unknown token is remembered as unknown, so a caller retrying a bad token costs no query. */
  readonly negativeTtlMs?: number;
  readonly maxEntries?: number;
  readonly now?: () => number;
}

/**
 * The scoring hot path's authenticator: the API's own, with answers remembered briefly by the token's hash
 * (never the token), so a scoring client does not cost a catalog query per request. Bounded: when full,
 * the oldest entry goes (a Map iterates in insertion order).
 */
export function cachedAuthenticator(authenticate: Authenticator, options: AuthCacheOptions = {}): Authenticator {
  const ttlMs = options.ttlMs ?? 5000;
  const negativeTtlMs = options.negativeTtlMs ?? 1000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { principal: Principal | null; until: number }>();

  return async (bearer) => {
    const key = hashToken(bearer);
    const hit = cache.get(key);
    if (hit && hit.until > now()) return hit.principal;
    const principal = await authenticate(bearer);
    cache.delete(key);
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
    cache.set(key, { principal, until: now() + (principal ? ttlMs : negativeTtlMs) });
    return principal;
  };
}
