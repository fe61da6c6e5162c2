import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projection } from '../../catalog/projection.js';
import { createApiToken } from '../../api/tokens.js';
import { manifestSchema, type ManifestInput } from '../../core/manifest.js';
import { lifecycleWorkflowId } from '../../core/model-id.js';
import { defaultPolicy } from '../../core/policy.js';
import { sampleManifest } from '../harness/manifests.js';
import {
  eventually,
  startTestStack,
  type TestApi,
  type TestDatabase,
  type TestStack,
} from '../harness/index.js';

/** Inventory search over real lifecycles: every filter, full-text search, and keyset pagination. */
describe('inventory search', () => {
  let client: Client;
  let database: TestDatabase;
  let stack: TestStack;
  let api: TestApi;
  let engineer: string;
  let reader: string;
  const models = {} as Record<'fraud' | 'churn' | 'rules' | 'vendor', ManifestInput>;

  beforeAll(async () => {
    stack = await startTestStack('search', { policy: { ...defaultPolicy, monitor: { intervalMs: 60_000, cyclesPerRun: 10 } } });
    ({ client, database, api } = stack);
    engineer = await createApiToken(database.db, 'erin', ['engineer']);
    reader = await createApiToken(database.db, 'ada', ['auditor']);
    const approver = await createApiToken(database.db, 'ava', ['approver:risk']);

    models.fraud = await sampleManifest({
      name: 'fraud-detector', owner: 'fatima', team: 'payments', kind: 'ml', framework: 'json-linear', riskTier: 'critical',
      tags: ['fraud', 'realtime'], description: 'Flags card transactions that look fraudulent.',
    });
    models.churn = await sampleManifest({
      name: 'churn-predictor', owner: 'carl', team: 'retention', kind: 'ml', framework: 'sklearn', riskTier: 'medium',
      tags: ['marketing'], description: 'Predicts which subscribers will cancel next month.',
    });
    models.rules = await sampleManifest({
      name: 'kyc-rules', owner: 'fatima', team: 'compliance', kind: 'rules', framework: 'drools', riskTier: 'high',
      tags: ['kyc', 'realtime'], description: 'Know-your-customer screening rules for onboarding.',
    });
    models.vendor = await sampleManifest({
      name: 'bureau-score', owner: 'vik', team: 'credit-risk', kind: 'vendor', framework: 'vendor:acme', riskTier: 'low',
      tags: ['credit'], description: 'Third-party credit bureau score, scored as a black box.',
    });
    for (const m of Object.values(models)) {
      expect((await api.call('POST', '/models', { token: engineer, body: m })).status).toBe(201);
    }
    // Drive the fraud model into production so the deployed filter and stage differ.
    const fraudId = `${models.fraud.name}@1.0.0`;
    await eventually('fraud model approved', async () => {
      const res = await api.call('POST', `/models/${fraudId}/approvals`, { token: approver, body: { decision: 'approve' } });
      return res.status === 200 ? res : undefined;
    });
    await eventually('catalog caught up', async () => {
      const rows = await database.db.selectFrom('model_versions').select(['name', 'stage']).execute();
      const stages = Object.fromEntries(rows.map((r) => [r.name, r.stage]));
      return stages[models.fraud.name] === 'monitor' && rows.filter((r) => r.stage === 'approval').length === 3 ? rows : undefined;
    });
  });

  afterAll(async () => {
    for (const m of Object.values(models)) {
      await client.workflow.getHandle(lifecycleWorkflowId({ name: m.name, version: '1.0.0' })).terminate('test over').catch(() => {});
    }
    await stack?.stop();
  });

  const names = async (query: string): Promise<string[]> => {
    const res = await api.call('GET', `/models?${query}`, { token: reader });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.items.map((i: { name: string }) => i.name).sort();
  };
  const n = (...keys: (keyof typeof models)[]) => keys.map((k) => models[k].name).sort();

  it.each([
    ['stage=monitor', ['fraud']],
    ['stage=approval', ['churn', 'rules', 'vendor']],
    ['owner=fatima', ['fraud', 'rules']],
    ['team=retention', ['churn']],
    ['riskTier=critical', ['fraud']],
    ['kind=rules', ['rules']],
    ['kind=vendor', ['vendor']],
    ['framework=sklearn', ['churn']],
    ['tag=realtime', ['fraud', 'rules']],
    ['tag=realtime&tag=kyc', ['rules']],
    ['deployed=true', ['fraud']],
    ['deployed=false', ['churn', 'rules', 'vendor']],
    ['q=subscribers', ['churn']],
    ['q=fraudulent%20transactions', ['fraud']],
    ['q=screening', ['rules']],
    ['q=bureau', ['vendor']],
    // The deployed model is one the built-in runtime serves; full text also matches a framework.
    ['q=json-linear', ['fraud']],
    ['owner=fatima&kind=ml', ['fraud']],
    ['tag=realtime&deployed=false', ['rules']],
  ] as [string, (keyof typeof models)[]][])('filters by %s', async (query, expected) => {
    expect(await names(query)).toEqual(n(...expected));
  });

  it('rejects unknown filters and bad values naming the field', async () => {
    const bad = await api.call('GET', '/models?riskTier=extreme&colour=blue', { token: reader });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues.map((i: { field: string }) => i.field)).toEqual(expect.arrayContaining(['querystring.riskTier', 'querystring']));
    const cursor = await api.call('GET', '/models?cursor=not-a-cursor', { token: reader });
    expect(cursor.status).toBe(400);
    expect(cursor.body.error.issues[0].field).toBe('querystring.cursor');
    expect((await api.call('GET', '/models')).status).toBe(401);
  });

  it('shows a model page with its versions, latest reports, deployments and lineage', async () => {
    const res = await api.call('GET', `/models/${models.fraud.name}`, { token: reader });
    expect(res.status).toBe(200);
    expect(res.body.versions.map((v: { id: string; deployed: boolean }) => [v.id, v.deployed])).toEqual([[`${models.fraud.name}@1.0.0`, true]]);
    expect(res.body.latestReports.map((r: { kind: string }) => r.kind).sort()).toEqual(['evaluation', 'scan']);
    expect(res.body.deployments).toHaveLength(1);
    expect(res.body.lineage.map((e: { kind: string }) => e.kind).sort()).toEqual(['reference_data', 'trained_on']);
    const report = await api.call('GET', `/reports/${res.body.latestReports[0].digest}`, { token: reader });
    expect(report.status).toBe(200);
    expect(report.body.modelVersionId).toBe(`${models.fraud.name}@1.0.0`);
    expect((await api.call('GET', `/models/no-such-model`, { token: reader })).status).toBe(404);
  });

  it('pages with a keyset cursor that never skips or repeats a row while rows are being inserted', async () => {
    const { registerVersion } = projection(database.db);
    const base = manifestSchema.parse(await sampleManifest({ name: 'paging' }));
    const insert = (i: number, at: string) =>
      registerVersion({
        workflowId: `paging-${i}`,
        modelVersionId: `paging-${String(i).padStart(4, '0')}@1.0.0`,
        manifest: { ...base, name: `paging-${String(i).padStart(4, '0')}`, tags: ['paging'] },
        registeredBy: { id: 'erin', roles: ['engineer'] },
        lineage: null,
        at,
      });
    // 90 rows in 9 batches that share a timestamp, so ties on the sort key are common.
    for (let i = 0; i < 90; i++) await insert(i, new Date(Date.UTC(2026, 0, 1 + Math.floor(i / 10))).toISOString());
    const existing = new Set((await database.db.selectFrom('model_versions').select('id').where('name', 'like', 'paging-%').execute()).map((r) => r.id));

    for (const [sort, order] of [['created', 'desc'], ['created', 'asc'], ['name', 'asc'], ['name', 'desc'], ['updated', 'desc']] as const) {
      let next = 1000 * (sort.length + order.length);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `tag=paging&sort=${sort}&order=${order}&limit=7${cursor ? `&cursor=${cursor}` : ''}`;
        const [res] = await Promise.all([
          api.call('GET', `/models?${query}`, { token: reader }),
          // Concurrent inserts between and during page reads.
          insert(next++, new Date().toISOString()),
          insert(next++, new Date(Date.UTC(2026, 0, 5)).toISOString()),
        ]);
        expect(res.status).toBe(200);
        seen.push(...res.body.items.map((i: { id: string }) => i.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(new Set(seen).size, `${sort} ${order}: a row was served twice`).toBe(seen.length);
      for (const id of existing) expect(seen, `${sort} ${order}: skipped ${id}`).toContain(id);
    }
  });
});
