import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../api/tokens.js';
import { projection } from '../../catalog/projection.js';
import { manifestSchema } from '../../core/manifest.js';
import { sampleManifest } from '../harness/manifests.js';
import { startTestStack, type TestApi, type TestStack } from '../harness/index.js';

/**
 * The inventory's query parameters on real PostgreSQL: made-up cursors, dates, limits and sorts are 400s
 * naming the parameter (never a 500 from inside the database), and full-text search finds hyphenated names.
 */
describe('inventory query parameters', () => {
  let stack: TestStack;
  let api: TestApi;
  let reader: string;
  const names = { fraud: '', credit: '', snake: '' };

  const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
  const get = (path: string) => api.call('GET', path, { token: reader });

  beforeAll(async () => {
    stack = await startTestStack('inventory-queries');
    api = stack.api;
    reader = await createApiToken(stack.database.db, 'ada', ['auditor']);
    // Catalog rows written the way the lifecycle's projection writes them; no lifecycle needs to run.
    const { registerVersion } = projection(stack.database.db);
    const suffix = Date.now().toString(36);
    names.fraud = `card-fraud-${suffix}`;
    names.credit = `credit-card-fraud-${suffix}`;
    names.snake = `churn_model_${suffix}`;
    const descriptions = { fraud: 'Flags suspicious payments.', credit: 'Scores issuer risk.', snake: 'Predicts cancellations.' };
    for (const [key, name] of Object.entries(names) as [keyof typeof names, string][]) {
      const manifest = manifestSchema.parse(await sampleManifest({ exactName: name, team: 'payments', description: descriptions[key], tags: [key] }));
      await registerVersion({
        workflowId: `queries-${name}`,
        modelVersionId: `${name}@1.0.0`,
        manifest,
        registeredBy: { id: 'erin', roles: ['engineer'] },
        lineage: null,
        at: new Date().toISOString(),
      });
    }
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it.each([
    ['the base64 of "null"', 'bnVsbA'],
    ['random base64', 'q83vEjRWeJq83vEjRWeJ'],
    ['base64 of a number', b64(42)],
    ['base64 of an array', b64([1, 2])],
    ['a date that does not parse', b64({ s: 'created', o: 'desc', v: 'not a date', id: 'x@1.0.0' })],
    ['a date PostgreSQL would reject', b64({ s: 'created', o: 'desc', v: '2026-13-45T99:99:99.999Z', id: 'x@1.0.0' })],
    ['a date in another format', b64({ s: 'created', o: 'desc', v: 'Tue, 03 Mar 2026 10:00:00 GMT', id: 'x@1.0.0' })],
    ['a NUL in the sort value', b64({ s: 'name', o: 'desc', v: 'a\u0000b', id: 'x@1.0.0' })],
    ['a NUL in the id', b64({ s: 'created', o: 'desc', v: '2026-01-01T00:00:00.000Z', id: '\u0000' })],
    ['a non-string id', b64({ s: 'created', o: 'desc', v: '2026-01-01T00:00:00.000Z', id: 7 })],
    ['another sort', b64({ s: 'name', o: 'desc', v: 'a', id: 'x@1.0.0' })],
  ])('refuses a cursor made of %s with a 400 naming querystring.cursor', async (_what, cursor) => {
    const res = await get(`/models?cursor=${encodeURIComponent(cursor)}`);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.issues).toEqual([{ field: 'querystring.cursor', problem: expect.any(String) }]);
  });

  it('still pages with the cursors it issues, for every sort', async () => {
    for (const sort of ['created', 'updated', 'name']) {
      const first = await get(`/models?sort=${sort}&limit=1`);
      expect(first.status).toBe(200);
      const next = await get(`/models?sort=${sort}&limit=1&cursor=${first.body.nextCursor}`);
      expect(next.status, JSON.stringify(next.body)).toBe(200);
      expect(next.body.items[0].id).not.toBe(first.body.items[0].id);
    }
  });

  it.each([
    ['owner', '/models?owner=a%00b'],
    ['team', '/models?team=%00'],
    ['framework', '/models?framework=x%00'],
    ['q', '/models?q=card%00fraud'],
    ['tag', '/models?tag=ok&tag=%00'],
  ])('refuses a NUL character in %s naming it', async (field, path) => {
    const res = await get(path);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.issues.map((i: { field: string }) => i.field).join(' ')).toContain(`querystring.${field}`);
  });

  it.each([
    ['/models?limit=0', 'limit'],
    ['/models?limit=1e400', 'limit'],
    ['/models?limit=-1', 'limit'],
    ['/models?limit=2.5', 'limit'],
    ['/models?limit=', 'limit'],
    ['/models?limit=1&limit=2', 'limit'],
    ['/models?sort=name%27--', 'sort'],
    ['/models?sort=created&sort=name', 'sort'],
    ['/models?order=sideways', 'order'],
    ['/models?deployed=yes', 'deployed'],
    ['/production?at=yesterday', 'at'],
    ['/production?at=2026-02-30T00:00:00Z', 'at'],
    ['/production?at=2026-01-01', 'at'],
    ['/production?model=..%2F..%2Fetc', 'model'],
  ])('%s is a 400 naming querystring.%s', async (path, field) => {
    const res = await get(path);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.issues.map((i: { field: string }) => i.field)).toContain(`querystring.${field}`);
  });

  it.each(['0000-01-01T00:00:00Z', '0001-01-01T00:00:00+14:00', '9999-12-31T23:59:59-12:00', '2026-03-01T12:00:00.123456789Z'])(
    'answers production at the edge time %s',
    async (at) => {
      const res = await get(`/production?at=${encodeURIComponent(at)}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.deployments).toEqual([]);
    },
  );

  it.each([
    ['card-fraud', ['fraud', 'credit']],
    ['card fraud', ['fraud', 'credit']],
    ['"card-fraud"', ['fraud', 'credit']],
    ['credit-card-fraud', ['credit']],
    ['churn-model', ['snake']],
    ['churn_model', ['snake']],
    ['fraud -credit', ['fraud']],
    ['card-fraud -credit', ['fraud']],
    ['fraud-card', []],
  ] as [string, (keyof typeof names)[]][])('full-text search for %s finds %j', async (q, expected) => {
    const res = await get(`/models?q=${encodeURIComponent(q)}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const found = res.body.items.map((i: { name: string }) => i.name).filter((n: string) => Object.values(names).includes(n));
    expect(found.sort()).toEqual(expected.map((k) => names[k]).sort());
  });

  it('finds a hyphenated name by the full name itself', async () => {
    const res = await get(`/models?q=${names.credit}`);
    expect(res.body.items.map((i: { name: string }) => i.name)).toEqual([names.credit]);
  });
});
