import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { buildApi } from '../../api/server.js';
import { cstDepth, parseBoundedYaml, YAML_LIMITS } from '../../api/yaml.js';
import type { CatalogDb } from '../../catalog/db.js';
import { ContentStore } from '../../evidence/content-store.js';
import { Parser } from 'yaml';

const secret = 'a-test-secret-of-at-least-thirty-two-characters';
const jwt = (roles: string[]) =>
  new SignJWT({ roles }).setProtectedHeader({ alg: 'HS256' }).setSubject('erin').setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode(secret));

/** `- - - … x`: one block sequence inside the next, `levels` deep, as the probe that crashed the API sent it. */
const nestedSequences = (levels: number) => `${'- '.repeat(levels)}x`;

/**
 * Hostile bodies against the real Fastify app (in process: were the API to crash, this test process would die
 * with it). No request here reaches Temporal or the catalog: JWTs authenticate without the catalog, and every
 * request is refused before a handler runs.
 */
describe('hostile request bodies', () => {
  let app: FastifyInstance;
  let engineer: string;

  beforeAll(async () => {
    app = await buildApi({
      client: {} as Client,
      db: {} as CatalogDb,
      evidence: new ContentStore('/nonexistent'),
      taskQueue: 'q',
      logger: false,
      jwt: { secret, rolesClaim: 'roles', teamsClaim: 'teams', principalClaim: 'sub' },
    });
    engineer = await jwt(['engineer']);
  });
  afterAll(() => app.close());

  const post = (url: string, body: string, token?: string) =>
    app.inject({ method: 'POST', url, payload: body, headers: { 'content-type': 'application/yaml', ...(token ? { authorization: `Bearer ${token}` } : {}) } });

  it('answers 404 to a 5,000-level YAML body on an unknown route, twice, without parsing it', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await post('/no/such/route', nestedSequences(5000));
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('not_found');
    }
  });

  it('answers 401 to an unauthenticated deep body and 415 to YAML on a route that takes only JSON', async () => {
    expect((await post('/models', nestedSequences(5000))).statusCode).toBe(401);
    const onWebhooks = await post('/webhooks', nestedSequences(5000), await jwt(['admin']));
    expect(onWebhooks.statusCode).toBe(415);
  });

  it('answers 400 naming the nesting limit to an authorised deep YAML body, and 413 to an oversized one', async () => {
    for (const body of [nestedSequences(5000), `${'['.repeat(5000)}${']'.repeat(5000)}`, `${'a:\n'.repeat(1)}${Array.from({ length: 200 }, (_, i) => `${'  '.repeat(i + 1)}k${i}:`).join('\n')} x`]) {
      const res = await post('/models', body, engineer);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.issues).toEqual([{ field: 'body', problem: `nested deeper than ${YAML_LIMITS.maxDepth} levels` }]);
    }
    const huge = await post('/models', `description: "${'x'.repeat(YAML_LIMITS.maxBytes)}"`, engineer);
    expect(huge.statusCode).toBe(413);
  });

  it('refuses an alias bomb and multiple documents by name', async () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`)].join('\n');
    const res = await post('/models', bomb, engineer);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('invalid_yaml');
    const two = await post('/models', 'a: 1\n---\nb: 2\n', engineer);
    expect(two.statusCode).toBe(400);
    expect(two.json().error.message).toMatch(/multiple documents/);
  });

  it('survives a JSON body nested 100,000 levels deep', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/models',
      payload: `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${engineer}` },
    });
    expect(res.statusCode).toBe(400);
  });
});

describe('bounded YAML', () => {
  it('measures nesting on the syntax tree without recursion, and parses shallow manifests as before', () => {
    const depth = (text: string) => cstDepth([...new Parser().parse(text)]);
    expect(depth('a: 1')).toBe(1);
    expect(depth('a:\n  b:\n    - [1, {c: 2}]')).toBe(5);
    expect(depth(nestedSequences(YAML_LIMITS.maxDepth))).toBe(YAML_LIMITS.maxDepth);
    expect(depth(nestedSequences(100_000))).toBe(YAML_LIMITS.maxDepth + 1);
    const manifest = { name: 'm', artifacts: [{ uri: 'file:///x', sha256: 'a'.repeat(64) }], metrics: { auc: 0.9 } };
    expect(parseBoundedYaml(stringify(manifest))).toEqual(manifest);
    expect(() => parseBoundedYaml('name: [unclosed')).toThrow(/line 1, column/);
  });
});
