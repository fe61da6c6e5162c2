import type { ModelRoutes, Route } from './routing-table.js';

/** A number in [0, 1); `Math.random` in production, a seeded generator in tests. */
export type Random = () => number;

/**
 * The deployment that answers one request: each canary with probability equal to its share (shares add up,
 * capped at 1), otherwise the champion. Without a champion, the first canary takes everything rather than
 * refusing the caller. Shadows never answer; they only receive a mirror.
 */
export function pickRoute(routes: ModelRoutes, random: Random): Route | null {
  if (routes.canaries.length === 0) return routes.champion ?? null;
  if (!routes.champion) return routes.canaries[0]!;
  const draw = random();
  let upTo = 0;
  for (const canary of routes.canaries) {
    upTo += canary.share;
    if (draw < upTo) return canary;
  }
  return routes.champion;
}

/** The live deployment of one version, for `/v2/models/{name}/versions/{version}/infer`. */
export function routeForVersion(routes: ModelRoutes, version: string): Route | null {
  return [routes.champion, ...routes.canaries, ...routes.shadows].find((r) => r?.version === version) ?? null;
}

/** mulberry32: a small seeded generator, so tests of the split are repeatable. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
