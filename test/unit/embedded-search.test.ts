import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCatalog, type CatalogDb } from '../../catalog/db.js';
import { InvalidCursorError, nameWords, searchVersions } from '../../catalog/inventory.js';
import { migrateToLatest } from '../../catalog/migrate.js';
import { projection } from '../../catalog/projection.js';
import { manifestSchema } from '../../core/manifest.js';
import { sampleManifest } from '../harness/manifests.js';

/** Full-text search and cursors on the embedded catalog (PGlite), the same code PostgreSQL runs. */
describe('search on the embedded catalog', () => {
  let db: CatalogDb;
  let dir: string;
  const page = { sort: 'created', order: 'desc', limit: 10 } as const;
  const names = async (q: string) => (await searchVersions(db, { q }, page)).items.map((i) => i.name).sort();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'steward-pglite-'));
    db = await openCatalog({ kind: 'embedded', dataDir: dir });
    await migrateToLatest(db);
    for (const name of ['card-fraud', 'credit-card-fraud', 'churn_model']) {
      const manifest = manifestSchema.parse(await sampleManifest({ exactName: name, team: 'payments', description: 'A model.', tags: [] }));
      await projection(db).registerVersion({
        workflowId: `wf-${name}`,
        modelVersionId: `${name}@1.0.0`,
        manifest,
        registeredBy: { id: 'erin', roles: ['engineer'] },
        lineage: null,
        at: new Date().toISOString(),
      });
    }
  }, 60_000);

  afterAll(async () => {
    await db?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['card-fraud', ['card-fraud', 'credit-card-fraud']],
    ['"card-fraud"', ['card-fraud', 'credit-card-fraud']],
    ['credit-card-fraud', ['credit-card-fraud']],
    ['card-fraud -credit', ['card-fraud']],
    ['churn-model', ['churn_model']],
    ['fraud-card', []],
  ])('finds %s', async (q, expected) => {
    expect(await names(q)).toEqual(expected);
  });

  it.each(['bnVsbA', 'q83vEjRWeJq83vEjRWeJ', Buffer.from(JSON.stringify({ s: 'created', o: 'desc', v: 'not a date', id: 'x' })).toString('base64url')])(
    'refuses the made-up cursor %s before it reaches the database',
    async (cursor) => {
      await expect(searchVersions(db, {}, { ...page, cursor })).rejects.toBeInstanceOf(InvalidCursorError);
    },
  );

  it('writes hyphenated compounds as phrases of their words, leaving negation and quotes alone', () => {
    expect(nameWords('card-fraud')).toBe('"card fraud"');
    expect(nameWords('card-fraud -credit')).toBe('"card fraud" -credit');
    expect(nameWords('"card-fraud model" x_y')).toBe('"card fraud model" "x y"');
    expect(nameWords('plain words')).toBe('plain words');
  });
});
