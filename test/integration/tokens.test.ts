import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../api/server.js';
import { createApiToken, hashToken } from '../../api/tokens.js';
import { openCatalog, type CatalogDb } from '../../catalog/db.js';
import { migrateToLatest } from '../../catalog/migrate.js';
import { ContentStore } from '../../evidence/content-store.js';
import { steward } from '../harness/cli.js';
import { connectTestClient, createTestDatabase, startTestApi, type TestApi, type TestDatabase } from '../harness/index.js';

/**
 * Tokens managed over the API: created, listed and revoked by admins only; a revoked token is refused on the
 * very next request. The same checks run against a PostgreSQL catalog and an embedded PGlite one.
 */
function tokenApiChecks(setup: () => { api: TestApi; db: CatalogDb; admin: string; engineer: string }) {
  it('creates a token that works at once, shows it once and stores only its hash', async () => {
    const { api, db, admin } = setup();
    const res = await api.call('POST', '/tokens', { token: admin, body: { principal: 'alice', roles: ['engineer', 'approver:risk'], teams: ['model-risk'] } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: expect.any(Number), principal: 'alice', roles: ['engineer', 'approver:risk'], teams: ['model-risk'], token: expect.stringMatching(/^stw_/) });
    expect((await api.call('GET', '/models?limit=1', { token: res.body.token })).status).toBe(200);
    const row = await db.selectFrom('api_tokens').selectAll().where('id', '=', res.body.id).executeTakeFirstOrThrow();
    expect(row.token_hash).toBe(hashToken(res.body.token));
    expect(JSON.stringify(row)).not.toContain(res.body.token);
    const listed = await api.call('GET', '/tokens?principal=alice', { token: admin });
    expect(listed.body.items).toEqual([{ id: res.body.id, principal: 'alice', roles: ['engineer', 'approver:risk'], teams: ['model-risk'], createdAt: expect.any(String), revokedAt: null }]);
    expect(JSON.stringify(listed.body)).not.toContain(res.body.token);
    expect(JSON.stringify(listed.body)).not.toContain(row.token_hash);
  });

  it('refuses a revoked token on the next request, by id and by principal', async () => {
    const { api, admin } = setup();
    const create = async (principal: string) => (await api.call('POST', '/tokens', { token: admin, body: { principal, roles: ['engineer'] } })).body as { id: number; token: string };
    const one = await create('bob');
    const two = await create('bob');
    expect((await api.call('GET', '/models?limit=1', { token: one.token })).status).toBe(200);
    const revoked = await api.call('DELETE', `/tokens/${one.id}`, { token: admin });
    expect(revoked).toMatchObject({ status: 200, body: { id: one.id, principal: 'bob', revokedAt: expect.any(String) } });
    expect((await api.call('GET', '/models?limit=1', { token: one.token })).status).toBe(401);
    expect((await api.call('GET', '/models?limit=1', { token: two.token })).status).toBe(200);
    expect(await api.call('DELETE', `/tokens/${one.id}`, { token: admin })).toMatchObject({ status: 404, body: { error: { issues: [{ field: 'params.id' }] } } });

    expect(await api.call('DELETE', '/tokens?principal=bob', { token: admin })).toMatchObject({ status: 200, body: { principal: 'bob', revoked: 1 } });
    expect((await api.call('GET', '/models?limit=1', { token: two.token })).status).toBe(401);
    const all = await api.call('GET', '/tokens?principal=bob&includeRevoked=true', { token: admin });
    expect(all.body.items.map((t: { revokedAt: string | null }) => t.revokedAt !== null)).toEqual([true, true]);
    expect((await api.call('GET', '/tokens?principal=bob', { token: admin })).body.items).toEqual([]);
  });

  it('answers 403 to non-admins and 401 without a token, and changes nothing', async () => {
    const { api, db, engineer } = setup();
    const before = await db.selectFrom('api_tokens').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    for (const [method, path, body] of [
      ['POST', '/tokens', { principal: 'eve', roles: ['admin'] }],
      ['GET', '/tokens', undefined],
      ['DELETE', '/tokens/1', undefined],
      ['DELETE', '/tokens?principal=dev-admin', undefined],
    ] as const) {
      expect((await api.call(method, path, { token: engineer, ...(body ? { body } : {}) })).status, `${method} ${path}`).toBe(403);
      expect((await api.call(method, path, body ? { body } : {})).status, `${method} ${path}`).toBe(401);
    }
    const after = await db.selectFrom('api_tokens').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
    expect((await api.call('GET', '/models?limit=1', { token: engineer })).status).toBe(200);
  });

  it('names the field of a bad request', async () => {
    const { api, admin } = setup();
    const problem = async (body: unknown) => {
      const res = await api.call('POST', '/tokens', { token: admin, body });
      expect(res.status).toBe(400);
      return res.body.error.issues.map((i: { field: string }) => i.field);
    };
    expect(await problem({ principal: 'a b', roles: ['engineer'] })).toEqual(['body.principal']);
    expect(await problem({ principal: 'carol', roles: ['engineer', 'root'] })).toEqual(['body.roles.1']);
    expect(await problem({ principal: 'carol', roles: [] })).toEqual(['body.roles']);
    expect(await problem({ principal: 'carol', roles: ['engineer'], teams: ['ok', '\u0000'] })).toEqual(['body.teams.1']);
    expect(await problem({ principal: 'carol', roles: ['engineer'], admin: true })).toEqual(['body']);
    expect((await api.call('DELETE', '/tokens/abc', { token: admin })).body.error.issues[0].field).toBe('params.id');
    expect((await api.call('DELETE', '/tokens', { token: admin })).body.error.issues[0].field).toBe('querystring.principal');
  });
}

describe('API tokens on PostgreSQL', () => {
  let database: TestDatabase;
  let client: Client;
  let api: TestApi;
  let admin: string;
  let engineer: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    client = await connectTestClient();
    api = await startTestApi({ client, database, taskQueue: 'tokens-unused' });
    admin = await createApiToken(database.db, 'root', ['admin']);
    engineer = await createApiToken(database.db, 'erin', ['engineer']);
  });
  afterAll(async () => {
    await api?.close();
    await client?.connection.close();
    await database?.drop();
  });

  tokenApiChecks(() => ({ api, db: database.db, admin, engineer }));

  it('steward token create / revoke / list through the running API with an admin token', async () => {
    const env = { STEWARD_API: api.baseUrl, STEWARD_TOKEN: admin };
    const created = await steward(env, 'token', 'create', '--principal', 'dora', '--role', 'engineer', '--team', 'fraud');
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const token = created.stdout.trim();
    expect((await api.call('GET', '/models?limit=1', { token })).status).toBe(200);
    const listed = await steward(env, 'token', 'list', '--principal', 'dora');
    expect(JSON.parse(listed.stdout)).toMatchObject([{ principal: 'dora', roles: ['engineer'], teams: ['fraud'] }]);
    expect(await steward(env, 'token', 'revoke', '--principal', 'dora')).toMatchObject({ code: 0, stdout: 'revoked 1 token(s) of dora\n' });
    expect((await api.call('GET', '/models?limit=1', { token })).status).toBe(401);

    // An engineer's token cannot manage tokens; the refusal is one line.
    const refused = await steward({ ...env, STEWARD_TOKEN: engineer }, 'token', 'create', '--principal', 'eve', '--role', 'admin');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('steward: POST /tokens failed with 403: erin lacks the role this needs: admin\n');
    const bad = await steward(env, 'token', 'create', '--principal', 'eve', '--role', 'engineer', 'root');
    expect(bad).toMatchObject({ code: 1, stderr: 'steward: --role "root": must be engineer, auditor, admin, scorer or approver:<group> (lower-case group)\n' });
  }, 60_000);

  it('steward token create / revoke straight on the PostgreSQL catalog, effective at once in the API', async () => {
    const env = { DATABASE_URL: database.url, STEWARD_TOKEN: undefined };
    const created = await steward(env, 'token', 'create', '--principal', 'fred', '--role', 'auditor');
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect((await api.call('GET', '/models?limit=1', { token })).status).toBe(200);
    expect(await steward(env, 'token', 'revoke', '--principal', 'fred')).toMatchObject({ code: 0, stdout: 'revoked 1 token(s) of fred\n' });
    expect((await api.call('GET', '/models?limit=1', { token })).status).toBe(401);
  }, 60_000);

  it('refuses to open an embedded catalog another process may hold, saying what to do instead', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'steward-tokens-cli-'));
    try {
      const env = { DATABASE_URL: undefined, STEWARD_TOKEN: undefined, STEWARD_DATA_DIR: dataDir };
      const refused = await steward(env, 'token', 'create', '--principal', 'gus', '--role', 'engineer');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^steward: the catalog is embedded \(PGlite in .*\) and belongs to the process running it; manage tokens through that API with an admin token/);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('API tokens on an embedded PGlite catalog', () => {
  let db: CatalogDb;
  let dir: string;
  let client: Client;
  let app: Awaited<ReturnType<typeof buildApi>>;
  let api: TestApi;
  let admin: string;
  let engineer: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'steward-tokens-pglite-'));
    db = await openCatalog({ kind: 'embedded', dataDir: join(dir, 'catalog') });
    await migrateToLatest(db);
    client = await connectTestClient();
    app = await buildApi({ client, db, evidence: new ContentStore(join(dir, 'evidence')), taskQueue: 'tokens-unused', logger: false, rateLimitPerMinute: 100_000 });
    const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    api = {
      baseUrl,
      close: () => app.close(),
      async call(method, path, { token, body } = {}) {
        const res = await fetch(`${baseUrl}${path}`, {
          method,
          headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
        const text = await res.text();
        return { status: res.status, body: text ? JSON.parse(text) : null };
      },
    };
    admin = await createApiToken(db, 'root', ['admin']);
    engineer = await createApiToken(db, 'erin', ['engineer']);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await client?.connection.close();
    await db?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  tokenApiChecks(() => ({ api, db, admin, engineer }));
});
