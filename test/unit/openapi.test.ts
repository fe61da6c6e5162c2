import { describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { buildApi } from '../../api/server.js';
import type { CatalogDb } from '../../catalog/db.js';
import { ContentStore } from '../../evidence/content-store.js';

/** The OpenAPI document is generated from the same zod schemas that validate requests. */
describe('OpenAPI', () => {
  it('documents every route with its request schema', async () => {
    // No request reaches Temporal or the catalog here: only the generated document is read.
    const app = await buildApi({ client: {} as Client, db: {} as CatalogDb, evidence: new ContentStore('/nonexistent'), taskQueue: 'q', logger: false });
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as { openapi: string; paths: Record<string, Record<string, { requestBody?: unknown; parameters?: { name: string }[] }>> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/models', '/models/{ref}', '/models/{id}/approvals', '/models/{id}/retrain', '/models/{id}/retire', '/production', '/reports/{digest}', '/health']),
    );
    const register = doc.paths['/models']!.post!.requestBody as { content: Record<string, { schema: { required: string[] } }> };
    expect(register.content['application/json']!.schema.required).toEqual(expect.arrayContaining(['name', 'version', 'artifacts']));
    expect(doc.paths['/models']!.get!.parameters!.map((p) => p.name)).toEqual(expect.arrayContaining(['q', 'tag', 'deployed', 'cursor']));
    await app.close();
  });

  it('says which routes need no token and that manifests may be posted as YAML', async () => {
    const app = await buildApi({ client: {} as Client, db: {} as CatalogDb, evidence: new ContentStore('/nonexistent'), taskQueue: 'q', logger: false });
    type Operation = { security?: unknown[]; requestBody?: { content: Record<string, unknown> } };
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { security: unknown[]; paths: Record<string, Record<string, Operation>> };
    expect(doc.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/health']!.get!.security).toEqual([]);
    expect(doc.paths['/schemas/manifest.json']!.get!.security).toEqual([]);
    // Every other operation inherits the document's bearer requirement.
    const open = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).filter(([, op]) => op.security !== undefined).map(([m]) => `${m} ${path}`));
    // A training pipeline's callback carries its own credential: the single-use token in its path (only its digest is stored).
    expect(open.sort()).toEqual(['get /health', 'get /schemas/manifest.json', 'get /v2/health/live', 'get /v2/health/ready', 'post /training/callbacks/{token}']);
    expect(Object.keys(doc.paths['/models']!.post!.requestBody!.content)).toEqual(['application/json', 'application/yaml', 'application/x-yaml', 'text/yaml']);
    await app.close();
  });

  it('says /metrics needs a token unless it is configured public', async () => {
    type Doc = { paths: Record<string, Record<string, { security?: unknown[] }>> };
    const build = (metrics: { public: boolean }) => buildApi({ client: {} as Client, db: {} as CatalogDb, evidence: new ContentStore('/nonexistent'), taskQueue: 'q', logger: false, metrics });
    const guarded = await build({ public: false });
    expect(((await guarded.inject({ method: 'GET', url: '/openapi.json' })).json() as Doc).paths['/metrics']!.get!.security).toBeUndefined();
    await guarded.close();
    const open = await build({ public: true });
    expect(((await open.inject({ method: 'GET', url: '/openapi.json' })).json() as Doc).paths['/metrics']!.get!.security).toEqual([]);
    await open.close();
  });
});
