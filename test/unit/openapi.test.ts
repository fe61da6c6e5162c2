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
});
