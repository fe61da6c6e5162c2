import type { CatalogDb } from '../../catalog/db.js';
import { manifestSchema, type ModelManifest } from '../../core/manifest.js';

export interface Champion {
  readonly modelVersionId: string;
  readonly manifest: ModelManifest;
}

/** Finds the version a candidate would replace: the one serving all traffic of the model on the target now. */
export type ChampionLookup = (modelName: string, target: string, candidateId: string) => Promise<Champion | null>;

export function catalogChampion(db: CatalogDb): ChampionLookup {
  return async (modelName, target, candidateId) => {
    const row = await db
      .selectFrom('deployments')
      .innerJoin('model_versions', 'model_versions.id', 'deployments.model_version_id')
      .select(['deployments.model_version_id as id', 'model_versions.manifest as manifest'])
      .where('deployments.model_name', '=', modelName)
      .where('deployments.target', '=', target)
      .where('deployments.strategy', '=', 'replace')
      .where('deployments.to_time', 'is', null)
      .where('deployments.model_version_id', '!=', candidateId)
      .orderBy('deployments.from_time', 'desc')
      .executeTakeFirst();
    return row ? { modelVersionId: row.id, manifest: manifestSchema.parse(row.manifest) } : null;
  };
}
