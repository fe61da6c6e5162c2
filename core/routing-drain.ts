/**
 * The scoring gateway caches which deployments are live (api/gateway/routing-table.ts) and reads the catalog
 * again only once its table is older than the TTL, so for a while after a deployment row ends a gateway may
 * still route requests to it. A version is unloaded from its runtime only after that while has passed.
 */

/** How long a gateway serves its routing table before it reads the catalog again. */
export const GATEWAY_ROUTES_TTL_MS = 1_000;

/**
 * How long after a deployment row ends a gateway with this TTL may still send it requests: the table read just
 * before the end is served for one TTL and then until the refresh that replaces it returns. Twice the TTL plus
 * a second covers both reads of the catalog however slow they are within reason.
 */
export function routingDrainMs(routesTtlMs: number = GATEWAY_ROUTES_TTL_MS): number {
  return 2 * routesTtlMs + 1_000;
}
