import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectDeployment, projection } from '../../catalog/projection.js';
import { openCatalog } from '../../catalog/db.js';
import { inProductionAt, searchVersions } from '../../catalog/inventory.js';
import { migrateToLatest } from '../../catalog/migrate.js';
import { manifestSchema } from '../../core/manifest.js';
import { sampleManifest } from '../harness/manifests.js';

/** The embedded default (PGlite) runs the same migrations, writers and queries as PostgreSQL. */
describe('the embedded catalog', () => {
  it('migrates, projects a registration, searches full text and answers production at T', async () => {
    const db = await openCatalog({ kind: 'embedded', dataDir: await mkdtemp(join(tmpdir(), 'steward-pglite-')) });
    try {
      expect(await migrateToLatest(db)).toEqual(['0001_initial', '0002_inventory', '0003_governance', '0004_templates', '0005_gateway', '0006_catalog_scale', '0007_training_callbacks', '0008_labels']);
      const manifest = manifestSchema.parse(await sampleManifest({ name: 'embedded', description: 'Forecasts weekly grocery demand.' }));
      const id = `${manifest.name}@1.0.0`;
      await projection(db).registerVersion({
        workflowId: 'wf-embedded',
        modelVersionId: id,
        manifest,
        registeredBy: { id: 'erin', roles: ['engineer'] },
        lineage: null,
        at: '2026-01-01T00:00:00.000Z',
      });
      await projectDeployment(db, { deploymentId: 'wf-embedded/deploy', modelName: manifest.name, modelVersionId: id, target: 'default', at: '2026-01-02T00:00:00.000Z' });

      const page = { sort: 'created', order: 'desc', limit: 10 } as const;
      expect((await searchVersions(db, { q: 'forecasting demand' }, page)).items.map((i) => i.id)).toEqual([id]);
      expect((await searchVersions(db, { q: 'fraud' }, page)).items).toEqual([]);
      expect((await searchVersions(db, { deployed: true, tags: ['credit'] }, page)).items.map((i) => i.id)).toEqual([id]);
      expect((await inProductionAt(db, new Date('2026-01-03T00:00:00Z'))).map((d) => d.modelVersionId)).toEqual([id]);
      expect(await inProductionAt(db, new Date('2026-01-01T12:00:00Z'))).toEqual([]);
    } finally {
      await db.destroy();
    }
  }, 60_000);
});
