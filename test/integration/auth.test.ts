import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { Client } from '@temporalio/client';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../api/server.js';
import { createApiToken } from '../../api/tokens.js';
import { lifecycleWorkflowId } from '../../core/model-id.js';
import { statusQuery } from '../../workflows/messages.js';
import { sampleManifest } from '../harness/manifests.js';
import {
  eventually,
  startTestApi,
  startTestStack,
  type TestApi,
  type TestDatabase,
  type TestStack,
} from '../harness/index.js';

type Who = 'nobody' | 'engineer' | 'approver' | 'auditor' | 'admin';
const EVERYONE: Who[] = ['nobody', 'engineer', 'approver', 'auditor', 'admin'];
const SIGNED_IN: Who[] = ['engineer', 'approver', 'auditor', 'admin'];

describe('authentication and authorisation', () => {
  let client: Client;
  let database: TestDatabase;
  let stack: TestStack;
  let api: TestApi;
  let taskQueue: string;
  const tokens: Partial<Record<Who, string>> = {};
  let modelId: string;
  let digest: string;

  beforeAll(async () => {
    stack = await startTestStack('auth');
    ({ client, database, api, taskQueue } = stack);
    tokens.engineer = await createApiToken(database.db, 'erin', ['engineer']);
    tokens.approver = await createApiToken(database.db, 'ava', ['approver:risk']);
    tokens.auditor = await createApiToken(database.db, 'ada', ['auditor']);
    tokens.admin = await createApiToken(database.db, 'root', ['admin']);
    // One lifecycle waiting at its approval gate, registered by someone outside the matrix.
    const registrant = await createApiToken(database.db, 'reg', ['engineer']);
    const manifest = await sampleManifest();
    await api.call('POST', '/models', { token: registrant, body: manifest });
    modelId = `${manifest.name}@1.0.0`;
    const handle = client.workflow.getHandle(lifecycleWorkflowId({ name: manifest.name, version: '1.0.0' }));
    await eventually('the gate', async () => ((await handle.query(statusQuery)).gate ? true : undefined));
    digest = (await database.db.selectFrom('reports').select('digest').executeTakeFirstOrThrow()).digest;
  });

  afterAll(() => stack?.stop());

  /** Every endpoint, the roles it admits, and a request that is valid apart from authorisation. */
  const matrix = (): [string, string, Who[], unknown?][] => [
    ['GET', '/health', EVERYONE],
    ['GET', '/openapi.json', EVERYONE],
    ['GET', '/schemas/manifest.json', EVERYONE],
    ['POST', '/models', ['engineer', 'admin'], { name: 'x' }],
    ['GET', '/models', SIGNED_IN],
    ['GET', `/models/${modelId.split('@')[0]}`, SIGNED_IN],
    ['GET', `/models/${modelId}`, SIGNED_IN],
    ['GET', '/production', SIGNED_IN],
    ['GET', `/reports/${digest}`, SIGNED_IN],
    ['GET', '/approvals', SIGNED_IN],
    ['GET', '/events', SIGNED_IN],
    ['GET', '/templates', SIGNED_IN],
    // Prometheus text: model names and counts, so signed-in only unless configured public.
    ['GET', '/metrics', SIGNED_IN],
    ['POST', `/models/${modelId}/retrain`, ['engineer', 'admin'], { reason: 'matrix' }],
    ['POST', `/models/no-such-model@1.0.0/retire`, ['engineer', 'admin'], { reason: 'matrix' }],
    ['POST', `/models/${modelId}/promote`, ['engineer', 'admin'], { reason: 'matrix' }],
    ['POST', `/models/${modelId}/rollback`, ['engineer', 'admin'], { reason: 'matrix' }],
    ['POST', `/models/${modelId}/batch-scoring`, ['engineer', 'admin'], { inputUri: 'file:///nowhere/rows.csv' }],
    ['GET', `/models/${modelId}/batch-scoring/no-such-batch`, ['engineer', 'admin']],
    ['POST', `/models/${modelId}/observations`, ['engineer', 'admin'], { windowStart: '2026-01-01T00:00:00Z', windowEnd: '2026-01-01T01:00:00Z', requests: 1, errors: 0 }],
    // Ground-truth labels (also role scorer) and the per-window reports.
    ['POST', `/models/${modelId}/labels`, ['engineer', 'admin'], { labels: [{ requestId: 'matrix', label: 1 }] }],
    ['GET', `/models/${modelId}/windows`, SIGNED_IN],
    ['GET', `/models/${modelId}/windows/no-such-window`, SIGNED_IN],
    ['POST', '/webhooks', ['admin'], { url: 'http://127.0.0.1:9/hook', secret: 'matrix-secret-0123' }],
    ['GET', '/webhooks', ['admin']],
    ['DELETE', '/webhooks/00000000-0000-4000-8000-000000000000', ['admin']],
    ['GET', `/audit/models/${modelId}/export`, ['auditor', 'admin']],
    ['POST', '/tokens', ['admin'], { principal: 'matrix-made', roles: ['auditor'] }],
    ['GET', '/tokens', ['admin']],
    ['DELETE', '/tokens/999999', ['admin']],
    ['DELETE', '/tokens?principal=nobody-at-all', ['admin']],
    // Any principal may attempt a decision; the gate admits only approvers of its groups (and records the rest).
    ['POST', `/models/${modelId}/approvals`, ['approver'], { decision: 'approve', comment: 'matrix' }],
    // A training pipeline's callback: the unguessable token in the path is its credential (404 when unknown).
    ['POST', `/training/callbacks/${'x'.repeat(43)}`, EVERYONE, { status: 'failed', reason: 'matrix' }],
    // The scoring gateway (also role scorer); its health probes are open like /health.
    ['GET', '/v2/health/live', EVERYONE],
    ['GET', '/v2/health/ready', EVERYONE],
    ['GET', '/v2/models/no-such-model', ['engineer', 'admin']],
    ['GET', '/v2/models/no-such-model/versions/1.0.0', ['engineer', 'admin']],
    ['GET', '/v2/models/no-such-model/ready', ['engineer', 'admin']],
    ['GET', '/v2/models/no-such-model/versions/1.0.0/ready', ['engineer', 'admin']],
    ['POST', '/v2/models/no-such-model/infer', ['engineer', 'admin'], { inputs: [{ name: 'x', shape: [1], datatype: 'FP64', data: [1] }] }],
    ['POST', '/v2/models/no-such-model/versions/1.0.0/infer', ['engineer', 'admin'], { inputs: [{ name: 'x', shape: [1], datatype: 'FP64', data: [1] }] }],
  ];

  it('lists every route of the OpenAPI document in its matrix', async () => {
    const doc = (await api.call('GET', '/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    // A path in the matrix names concrete values; match them against the document's {param} templates.
    const covered = matrix().map(([method, path]) => `${method} ${path.split('?')[0]}`);
    const uncovered = routes.filter((r) => {
      const pattern = new RegExp(`^${r.replace(/\{[^}]+\}/g, '[^/]+')}$`);
      return !covered.some((c) => pattern.test(c));
    });
    expect(uncovered).toEqual([]);
  });

  it('allows and denies every endpoint for every role, and for no principal', async () => {
    const outcomes: string[] = [];
    const expected: string[] = [];
    for (const [method, path, allowed, body] of matrix()) {
      // Approvers last, so the approval attempt that closes the gate comes after the refusals.
      for (const who of [...EVERYONE].sort((a, b) => Number(a === 'approver') - Number(b === 'approver'))) {
        const res = await api.call(method, path, { ...(tokens[who] ? { token: tokens[who] } : {}), ...(body ? { body } : {}) });
        const denied = res.status === 401 || res.status === 403;
        outcomes.push(`${method} ${path} as ${who}: ${denied ? 'deny' : 'allow'}${denied ? ` (${res.status})` : ''}`);
        expected.push(`${method} ${path} as ${who}: ${allowed.includes(who) ? 'allow' : 'deny'}${allowed.includes(who) ? '' : ` (${who === 'nobody' ? 401 : 403})`}`);
      }
    }
    expect(outcomes).toEqual(expected);
  });

  it('never writes a token to the logs', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
    const app = await buildApi({ client, db: database.db, evidence: database.evidence, taskQueue, logger: pino({ level: 'trace' }, sink) });
    await app.inject({ method: 'GET', url: '/models', headers: { authorization: `Bearer ${tokens.auditor}` } });
    await app.inject({ method: 'GET', url: '/models', headers: { authorization: 'Bearer stw_not-a-real-token-but-secret' } });
    await app.inject({ method: 'POST', url: '/models', headers: { authorization: `Bearer ${tokens.engineer}` }, payload: { bad: true } });
    await app.close();
    const log = lines.join('');
    expect(log.length).toBeGreaterThan(0);
    for (const secret of [tokens.auditor!, tokens.engineer!, 'stw_not-a-real-token-but-secret']) expect(log).not.toContain(secret);
  });

  it('rate-limits each caller', async () => {
    const limited = await startTestApi({ client, database, taskQueue, rateLimitPerMinute: 5 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await limited.call('GET', '/models', { token: tokens.auditor! })).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
      const other = await limited.call('GET', '/models', { token: tokens.engineer! });
      expect(other.status).toBe(200);
      const body = (await limited.call('GET', '/models', { token: tokens.auditor! })).body;
      expect(body.error.code).toBe('rate_limited');
      // Refused credentials and unknown routes count too: the limiter runs before any guard.
      const guesses: number[] = [];
      for (let i = 0; i < 6; i++) guesses.push((await limited.call('GET', '/models', { token: 'stw_guess' })).status);
      expect(guesses).toEqual([401, 401, 401, 401, 401, 429]);
      const unknown: number[] = [];
      for (let i = 0; i < 6; i++) unknown.push((await limited.call('GET', '/no-such-route')).status);
      expect(unknown).toEqual([404, 404, 404, 404, 404, 429]);
    } finally {
      await limited.close();
    }
  });

  it('answers 400 naming the field to a NUL in an event filter', async () => {
    const res = await api.call('GET', '/events?modelVersionId=%00', { token: tokens.auditor! });
    expect([res.status, res.body.error.issues?.[0]?.field]).toEqual([400, 'querystring.modelVersionId']);
  });

  it('refuses oversized bodies with 413', async () => {
    const res = await api.call('POST', '/models', { token: tokens.engineer!, body: { description: 'x'.repeat(1_100_000) } });
    expect(res.status).toBe(413);
  });

  describe('JWT bearer tokens', () => {
    let jwks: Server;
    let jwksUrl: string;
    let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

    beforeAll(async () => {
      const pair = await generateKeyPair('RS256');
      privateKey = pair.privateKey;
      const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
      jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
      await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', () => r()));
      jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
    });
    afterAll(() => jwks?.close());

    const sign = (claims: Record<string, unknown>, { key = privateKey as typeof privateKey | Uint8Array, alg = 'RS256', issuer = 'https://idp.test', audience = 'steward', expires = '5m' } = {}) =>
      new SignJWT(claims).setProtectedHeader({ alg, kid: 'k1' }).setSubject(String(claims.sub ?? 'jane')).setIssuer(issuer).setAudience(audience).setIssuedAt().setExpirationTime(expires).sign(key);

    it('verifies RS256 tokens against a JWKS, with roles from a nested claim', async () => {
      const jwtApi = await startTestApi({
        client,
        database,
        taskQueue,
        jwt: { jwksUrl, issuer: 'https://idp.test', audience: 'steward', rolesClaim: 'realm_access.roles', teamsClaim: 'teams', principalClaim: 'sub' },
      });
      try {
        const auditor = await sign({ sub: 'jane', realm_access: { roles: ['auditor', 'not-a-role'] } });
        expect((await jwtApi.call('GET', '/models', { token: auditor })).status).toBe(200);
        expect((await jwtApi.call('POST', '/models', { token: auditor, body: {} })).status).toBe(403);
        const engineer = await sign({ sub: 'jim', realm_access: { roles: ['engineer'] } });
        expect((await jwtApi.call('POST', '/models', { token: engineer, body: {} })).status).toBe(400);
        expect((await jwtApi.call('GET', '/models', { token: await sign({ sub: 'x', realm_access: { roles: ['auditor'] } }, { audience: 'other' }) })).status).toBe(401);
        expect((await jwtApi.call('GET', '/models', { token: await sign({ sub: 'x', realm_access: { roles: ['auditor'] } }, { expires: '-1m' }) })).status).toBe(401);
        // API tokens keep working alongside JWTs.
        expect((await jwtApi.call('GET', '/models', { token: tokens.auditor! })).status).toBe(200);
      } finally {
        await jwtApi.close();
      }
    });

    it('verifies HS256 tokens with a shared secret', async () => {
      const secret = 'a-shared-secret-of-at-least-32-characters';
      const jwtApi = await startTestApi({
        client,
        database,
        taskQueue,
        jwt: { secret, rolesClaim: 'roles', teamsClaim: 'teams', principalClaim: 'sub' },
      });
      try {
        const good = await sign({ sub: 'jo', roles: ['auditor'] }, { key: new TextEncoder().encode(secret), alg: 'HS256' });
        expect((await jwtApi.call('GET', '/models', { token: good })).status).toBe(200);
        const forged = await sign({ sub: 'jo', roles: ['admin'] }, { key: new TextEncoder().encode('another-secret-of-at-least-32-characters'), alg: 'HS256' });
        expect((await jwtApi.call('GET', '/webhooks', { token: forged })).status).toBe(401);
      } finally {
        await jwtApi.close();
      }
    });
  });
});
