import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../api/server.js';
import { createApiToken } from '../../api/tokens.js';
import { FIELD_TYPES } from '../../core/manifest.js';
import { lifecycleWorkflowId, parseModelVersionId } from '../../core/model-id.js';
import { defaultPolicy } from '../../core/policy.js';
import {
  connectTestClient,
  createTestDatabase,
  eventually,
  startTestWorker,
  uniqueTaskQueue,
  type RunningWorker,
  type TestDatabase,
} from '../harness/index.js';
import { TEST_ROOT, testReadSettings } from '../harness/reading.js';

/**
 * Throws 1,000 random and mutated manifests at POST /models on the real stack. Every answer must be a 2xx,
 * or a 4xx naming the offending field; never a 5xx. No refused manifest may leave a lifecycle or a catalog row.
 */
const RUNS = 1000;
const run = Math.random().toString(36).slice(2, 7);

const identifier = fc.stringMatching(/^[a-z_][a-z0-9_]{0,11}$/);
const hex64 = fc.stringMatching(/^[a-f0-9]{64}$/);
const field = fc.record({ name: identifier, type: fc.constantFrom(...FIELD_TYPES.filter((t) => t !== 'category')) });
const fields = fc.uniqueArray(field, { minLength: 1, maxLength: 4, selector: (f) => f.name });

const validManifest = fc
  .record({
    name: fc.stringMatching(/^[a-z0-9]{1,8}$/).map((s) => `fz${run}-${s}`),
    version: fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3)).map((v) => v.join('.')),
    owner: fc.constantFrom('erin', 'fatima', 'vik'),
    team: fc.constantFrom('payments', 'credit-risk'),
    description: fc.string({ maxLength: 40 }),
    kind: fc.constantFrom('ml', 'rules', 'vendor', 'other'),
    framework: fc.constantFrom('sklearn', 'onnx', 'drools'),
    artifacts: fc.array(fc.record({ uri: identifier.map((s) => `file://${TEST_ROOT}/nonexistent/${s}.bin`), sha256: hex64 }), { minLength: 1, maxLength: 2 }),
    inputSchema: fields,
    outputSchema: fields,
    metrics: fc.dictionary(identifier, fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), { maxKeys: 3 }),
    riskTier: fc.constantFrom('low', 'medium', 'high', 'critical'),
    tags: fc.uniqueArray(fc.stringMatching(/^[a-z0-9]{1,8}$/), { maxLength: 3 }),
  })
  .map((m) => m as Record<string, unknown>);

type Mutation =
  | { kind: 'delete'; key: string }
  | { kind: 'set'; key: string; value: unknown }
  | { kind: 'nested'; path: (string | number)[]; value: unknown }
  | { kind: 'replace'; value: unknown };

const keys = ['name', 'version', 'owner', 'team', 'kind', 'framework', 'artifacts', 'inputSchema', 'outputSchema', 'metrics', 'riskTier', 'tags', 'protectedAttributes', 'template', 'extra'];
const junk = fc.oneof(fc.anything({ maxDepth: 2 }), fc.string({ maxLength: 300 }), fc.constantFrom(null, -1, 1e308, '', [], {}, '../../etc/passwd', 'x'.repeat(5000)));
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), key: fc.constantFrom(...keys) }),
  fc.record({ kind: fc.constant('set' as const), key: fc.constantFrom(...keys), value: junk }),
  fc.record({
    kind: fc.constant('nested' as const),
    path: fc.constantFrom<(string | number)[]>(['artifacts', 0, 'sha256'], ['artifacts', 0, 'uri'], ['inputSchema', 0, 'type'], ['inputSchema', 0, 'name'], ['metrics', 'auc'], ['tags', 0]),
    value: junk,
  }),
  fc.record({ kind: fc.constant('replace' as const), value: junk }),
);

function mutate(base: Record<string, unknown>, mutations: Mutation[]): unknown {
  let body: unknown = structuredClone(base);
  // Generated values may share instances; cloning each keeps the payload acyclic.
  for (const m of mutations.map((x) => structuredClone(x))) {
    if (m.kind === 'replace') body = m.value;
    else if (body && typeof body === 'object' && !Array.isArray(body)) {
      const obj = body as Record<string, unknown>;
      if (m.kind === 'delete') delete obj[m.key];
      else if (m.kind === 'set') obj[m.key] = m.value;
      else {
        let node: unknown = obj;
        for (const step of m.path.slice(0, -1)) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[step] : undefined;
        if (node && typeof node === 'object') (node as Record<string | number, unknown>)[m.path.at(-1)!] = m.value;
      }
    }
  }
  return body;
}

const body = fc.oneof(
  { weight: 2, arbitrary: validManifest },
  { weight: 6, arbitrary: fc.tuple(validManifest, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([m, ms]) => mutate(m, ms)) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) },
);

describe('fuzzing POST /models', () => {
  let client: Client;
  let database: TestDatabase;
  let worker: RunningWorker;
  let app: FastifyInstance;
  let token: string;

  beforeAll(async () => {
    const taskQueue = uniqueTaskQueue('fuzz');
    database = await createTestDatabase();
    client = await connectTestClient();
    worker = await startTestWorker({ database, taskQueue });
    app = await buildApi({ client, db: database.db, evidence: database.evidence, taskQueue, policy: defaultPolicy, logger: false, rateLimitPerMinute: 100_000, readPolicy: testReadSettings().policy });
    token = await createApiToken(database.db, 'erin', ['engineer']);
  });

  afterAll(async () => {
    await app?.close();
    await worker?.stop();
    await client?.connection.close();
    await database?.drop();
  });

  it(`answers ${RUNS} random and mutated manifests with a 2xx or a 4xx naming a field, and leaves nothing behind refusals`, async () => {
    const accepted = new Set<string>();
    const refused = new Set<string>();
    const statuses: Record<number, number> = {};

    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        const res = await app.inject({
          method: 'POST',
          url: '/models',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          payload: JSON.stringify(payload) ?? 'null',
        });
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        expect(res.statusCode, res.body).toBeLessThan(500);
        const json = res.json() as { modelVersionId?: string; error?: { issues?: { field: string }[] } };
        const m = payload as { name?: unknown; version?: unknown } | null;
        const parsed = m && typeof m === 'object' ? parseModelVersionId(`${String(m.name)}@${String(m.version)}`) : null;
        if (res.statusCode < 300) {
          accepted.add(json.modelVersionId!);
        } else {
          expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
          expect(json.error?.issues?.length, res.body).toBeGreaterThan(0);
          for (const issue of json.error!.issues!) expect(issue.field).toMatch(/^body(\.|$)/);
          if (parsed?.ok) refused.add(`${parsed.value.name}@${parsed.value.version}`);
        }
      }),
      { numRuns: RUNS },
    );

    expect(Object.values(statuses).reduce((a, b) => a + b, 0)).toBe(RUNS);
    expect(accepted.size).toBeGreaterThan(50);
    expect(statuses[400]).toBeGreaterThan(300);

    // Every accepted manifest reached the catalog through its lifecycle...
    await eventually(
      'every accepted lifecycle in the catalog',
      async () => {
        const rows = await database.db.selectFrom('model_versions').select('id').execute();
        return rows.length >= accepted.size ? rows : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    // ...and nothing else did: no row and no lifecycle for a refused manifest.
    const rows = (await database.db.selectFrom('model_versions').select('id').execute()).map((r) => r.id);
    expect(rows.filter((id) => !accepted.has(id))).toEqual([]);
    for (const id of refused) {
      if (accepted.has(id)) continue;
      const ref = parseModelVersionId(id);
      if (!ref.ok) continue;
      await expect(client.workflow.getHandle(lifecycleWorkflowId(ref.value)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    }
  }, 300_000);
});
