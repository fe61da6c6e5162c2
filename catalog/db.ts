import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { CatalogSchema } from './schema.js';

export type CatalogDb = Kysely<CatalogSchema>;

/**
 * Where the catalog lives: a PostgreSQL server (the scale path) or an embedded PGlite directory (the
 * default for a laptop, one process only). Both run the same kysely code and migrations.
 */
export type CatalogLocation = { kind: 'postgres'; url: string } | { kind: 'embedded'; dataDir: string };

export async function openCatalog(location: CatalogLocation): Promise<CatalogDb> {
  if (location.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: location.url, max: 10 });
    // An idle connection dropped by the server (restart, failover) must not crash the process; the pool
    // replaces it on next use.
    pool.on('error', (err) => process.stderr.write(`[catalog] idle PostgreSQL connection lost: ${err.message}\n`));
    return new Kysely<CatalogSchema>({ dialect: new PostgresDialect({ pool }) });
  }
  // Loaded lazily: the PGlite WASM bundle is only paid for by the embedded mode.
  const [{ PGlite }, { PGliteDialect }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('kysely-pglite-dialect'),
  ]);
  const pglite = await PGlite.create(location.dataDir);
  return new Kysely<CatalogSchema>({ dialect: new PGliteDialect(pglite) });
}
