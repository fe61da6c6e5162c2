import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import * as initial from './migrations/0001_initial.js';
import * as inventory from './migrations/0002_inventory.js';
import * as governance from './migrations/0003_governance.js';
import * as templates from './migrations/0004_templates.js';
import * as gateway from './migrations/0005_gateway.js';
import * as catalogScale from './migrations/0006_catalog_scale.js';
import * as labels from './migrations/0008_labels.js';
import * as trainingCallbacks from './migrations/0007_training_callbacks.js';

/** Migrations are listed in code, not read from disk, so they ship inside any bundle unchanged. */
const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_inventory': inventory,
  '0003_governance': governance,
  '0004_templates': templates,
  '0005_gateway': gateway,
  '0006_catalog_scale': catalogScale,
  '0008_labels': labels,
  '0007_training_callbacks': trainingCallbacks,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Brings the catalog schema to the latest version; safe to run at every start-up. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations work on any schema
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
