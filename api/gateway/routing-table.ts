import type { CatalogDb } from '../../catalog/db.js';
import { runtimeModelName } from '../../runtimes/runtime.js';

/** One live deployment as the gateway routes to it. */
export interface Route {
  readonly deploymentId: string;
  readonly modelVersionId: string;
  /** The version part of the model version id: the response's `model_version`. */
  readonly version: string;
  readonly target: string;
  /** The model's name inside its runtime. */
  readonly runtimeName: string;
  readonly strategy: 'replace' | 'canary' | 'shadow';
  /** Share of live traffic (1 for the champion, the canary's share, 0 for a shadow). */
  readonly share: number;
}

/** A model's live deployments: the champion, canaries taking a share, shadows receiving a mirror. */
export interface ModelRoutes {
  readonly champion: Route | null;
  readonly canaries: readonly Route[];
  readonly shadows: readonly Route[];
}

export interface DeploymentRowLike {
  readonly id: string;
  readonly model_name: string;
  readonly model_version_id: string;
  readonly target: string;
  readonly strategy: string;
  readonly traffic_share: number;
  readonly from_time: Date | string;
}

/**
 * Groups live deployment rows by model. A model has one champion per target; when it is live on several
 * targets, the newest champion serves (the gateway is one endpoint per model name) and the canaries and
 * shadows of that champion's target go with it.
 */
export function groupRoutes(rows: readonly DeploymentRowLike[]): Map<string, ModelRoutes> {
  const byModel = new Map<string, DeploymentRowLike[]>();
  for (const row of rows) {
    const list = byModel.get(row.model_name) ?? [];
    list.push(row);
    byModel.set(row.model_name, list);
  }
  const result = new Map<string, ModelRoutes>();
  for (const [model, list] of byModel) {
    const newestFirst = [...list].sort((a, b) => new Date(b.from_time).getTime() - new Date(a.from_time).getTime());
    const championRow = newestFirst.find((r) => r.strategy === 'replace');
    const target = championRow?.target ?? newestFirst[0]!.target;
    const onTarget = newestFirst.filter((r) => r.target === target);
    result.set(model, {
      champion: championRow ? toRoute(championRow) : null,
      canaries: onTarget.filter((r) => r.strategy === 'canary' && r.traffic_share > 0).map(toRoute),
      shadows: onTarget.filter((r) => r.strategy === 'shadow').map(toRoute),
    });
  }
  return result;
}

function toRoute(row: DeploymentRowLike): Route {
  const strategy = row.strategy === 'canary' || row.strategy === 'shadow' ? row.strategy : 'replace';
  return {
    deploymentId: row.id,
    modelVersionId: row.model_version_id,
    version: row.model_version_id.slice(row.model_version_id.lastIndexOf('@') + 1),
    target: row.target,
    runtimeName: runtimeModelName(row.model_version_id),
    strategy,
    share: strategy === 'replace' ? 1 : Math.min(1, Math.max(0, row.traffic_share)),
  };
}

export interface RoutingTableOptions {
  /** How long a read of the catalog is served before it is refreshed (in the background). */
  readonly ttlMs?: number;
  readonly now?: () => number;
  readonly onError?: (err: unknown) => void;
}

export interface RoutingTable {
  /** The model's live routes, or null when nothing of it is live. */
  routes(modelName: string): Promise<ModelRoutes | null>;
}

/**
 * Live deployments read from the catalog at most once per TTL, all models in one query, so the hot path
 * never waits on the database except for the very first request. A stale table is served while one refresh
 * (single flight) runs; past twice the TTL requests wait for the refresh, so an ended or rolled-back
 * deployment stops receiving traffic within about one TTL. While the catalog cannot be read, the last table
 * read keeps serving (nothing can change the deployments then either); only a gateway that never read it fails.
 */
export function createRoutingTable(db: CatalogDb, options: RoutingTableOptions = {}): RoutingTable {
  return routingTableOver(
    () =>
      db
        .selectFrom('deployments')
        .select(['id', 'model_name', 'model_version_id', 'target', 'strategy', 'traffic_share', 'from_time'])
        .where('to_time', 'is', null)
        .execute(),
    options,
  );
}

/** The routing table over any source of live deployment rows (the catalog, or a test's list). */
export function routingTableOver(load: () => Promise<readonly DeploymentRowLike[]>, options: RoutingTableOptions = {}): RoutingTable {
  const ttlMs = options.ttlMs ?? 1000;
  const now = options.now ?? Date.now;
  let table: Map<string, ModelRoutes> | null = null;
  let loadedAt = -Infinity;
  let inFlight: Promise<Map<string, ModelRoutes>> | null = null;

  const refresh = () => {
    inFlight ??= load()
      .then((rows) => {
        table = groupRoutes(rows);
        loadedAt = now();
        return table;
      })
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  };

  return {
    async routes(modelName) {
      const age = now() - loadedAt;
      let current = table;
      if (!current) current = await refresh();
      else if (age > 2 * ttlMs) {
        current = await refresh().catch((err: unknown) => {
          options.onError?.(err);
          return table!;
        });
      } else if (age > ttlMs) refresh().catch((err: unknown) => options.onError?.(err));
      return current.get(modelName) ?? null;
    },
  };
}
