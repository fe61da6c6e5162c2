import type { Client } from '@temporalio/client';
import { sql } from 'kysely';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../api/tokens.js';
import { reconcileCatalog } from '../../catalog/reconcile.js';
import { PROJECTION_TABLES } from '../../catalog/schema.js';
import { manifestSchema, type ManifestInput } from '../../core/manifest.js';
import { lifecycleWorkflowId } from '../../core/model-id.js';
import { defaultPolicy, type LifecyclePolicy } from '../../core/policy.js';
import { SA_MODEL, SA_OWNER, SA_RISK_TIER, SA_STAGE, SA_VERSION } from '../../core/search-attributes.js';
import { statusQuery } from '../../workflows/messages.js';
import { settledHistoryLength } from '../harness/history.js';
import { sampleManifest } from '../harness/manifests.js';
import {
  eventually,
  startTestStack,
  type TestApi,
  type TestDatabase,
  type TestStack,
} from '../harness/index.js';

const policy: LifecyclePolicy = { ...defaultPolicy, monitor: { intervalMs: 200, cyclesPerRun: 3 } };

/** Registration into the catalog, "what was in production at T" across a retrain, and reconcile. */
describe('the catalog as a projection of lifecycle histories', () => {
  let client: Client;
  let database: TestDatabase;
  let stack: TestStack;
  let api: TestApi;
  let taskQueue: string;
  let engineer: string;
  let approver: string;
  let auditor: string;

  beforeAll(async () => {
    stack = await startTestStack('catalog', { policy });
    ({ client, database, api, taskQueue } = stack);
    engineer = await createApiToken(database.db, 'erin', ['engineer']);
    approver = await createApiToken(database.db, 'ava', ['approver:risk']);
    auditor = await createApiToken(database.db, 'ada', ['auditor']);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const approveWhenReady = (id: string, comment: string) =>
    eventually(`approval of ${id}`, async () => {
      const res = await api.call('POST', `/models/${id}/approvals`, { token: approver, body: { decision: 'approve', comment } });
      return res.status === 200 ? res : undefined;
    });

  it('registers a YAML manifest: the catalog holds its facts and the lifecycle carries search attributes', async () => {
    const manifest = await sampleManifest({ name: 'yaml-model' });
    const res = await api.call('POST', '/models', {
      token: engineer,
      body: stringify(manifest),
      headers: { 'content-type': 'application/yaml' },
    });
    expect(res.status).toBe(201);
    const id = `${manifest.name}@1.0.0`;

    const page = await eventually('the version in the catalog', async () => {
      const r = await api.call('GET', `/models/${id}`, { token: auditor });
      return r.body.catalog ? r.body : undefined;
    });
    expect(page.catalog.manifest).toEqual(manifestSchema.parse(manifest));
    const [artifacts, fields, edges] = await Promise.all([
      database.db.selectFrom('artifacts').selectAll().where('model_version_id', '=', id).execute(),
      database.db.selectFrom('schema_fields').select(['direction', 'name', 'type']).where('model_version_id', '=', id).orderBy('direction').orderBy('position').execute(),
      database.db.selectFrom('lineage_edges').select(['kind', 'from_ref']).where('to_version_id', '=', id).orderBy('kind').execute(),
    ]);
    expect(artifacts.map((a) => a.sha256)).toEqual([manifest.artifacts[0]!.sha256]);
    expect(fields.map((f) => `${f.direction}:${f.name}:${f.type}`)).toEqual([
      'input:income:number',
      'input:debt_to_income:number',
      'input:age_band:category',
      'output:probability:number',
      'output:label:integer',
    ]);
    expect(edges).toEqual([
      { kind: 'reference_data', from_ref: manifest.referenceDataset!.uri },
      { kind: 'trained_on', from_ref: manifest.trainingData![0]!.uri },
    ]);

    const description = await client.workflow.getHandle(res.body.workflowId).describe();
    const sa = description.typedSearchAttributes;
    expect([sa.get(SA_MODEL), sa.get(SA_VERSION), sa.get(SA_RISK_TIER), sa.get(SA_OWNER)]).toEqual([manifest.name, '1.0.0', 'high', 'erin']);
    expect(sa.get(SA_STAGE)).toBeDefined();
    // Visibility is eventually consistent; the same query works in `temporal workflow list --query`.
    await eventually('visibility to index the lifecycle', async () => {
      for await (const w of client.workflow.list({ query: `StewardModel = '${manifest.name}' AND StewardRiskTier = 'high'` })) return w;
      return undefined;
    });

    const broken = await api.call('POST', '/models', { token: engineer, body: 'name: [unclosed', headers: { 'content-type': 'application/yaml' } });
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe('invalid_yaml');
  });

  it('re-registration is idempotent; a different manifest under the same version is a 409 naming what differs', async () => {
    const manifest = await sampleManifest({ name: 'idempotent' });
    const first = await api.call('POST', '/models', { token: engineer, body: manifest });
    const again = await api.call('POST', '/models', { token: engineer, body: { ...manifest } });
    expect([first.status, again.status]).toEqual([201, 200]);
    expect(again.body).toEqual({ ...first.body, created: false });

    const changed = { ...manifest, metrics: { auc: 0.95 }, tags: ['credit'] };
    const conflict = await api.call('POST', '/models', { token: engineer, body: changed });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.issues.map((i: { field: string }) => i.field)).toEqual(['body.metrics.auc', 'body.tags.1']);
    expect(conflict.body.error.message).toContain('metrics.auc: 0.91 → 0.95');
  });

  let champion: ManifestInput;

  it('answers what was in production at time T across a retrain that replaced the champion', async () => {
    champion = await sampleManifest({ name: 'champion' });
    const parentId = `${champion.name}@1.0.0`;
    const childId = `${champion.name}@1.1.0`;
    await api.call('POST', '/models', { token: engineer, body: champion });
    // A refused attempt first (the registrant), so reconcile must also restore refusals.
    await eventually('the gate', async () => ((await api.call('GET', `/models/${parentId}`, { token: auditor })).body.stage === 'approval' ? true : undefined));
    expect((await api.call('POST', `/models/${parentId}/approvals`, { token: engineer, body: { decision: 'approve' } })).status).toBe(403);
    await approveWhenReady(parentId, 'champion approved');
    const parent = client.workflow.getHandle(lifecycleWorkflowId({ name: champion.name, version: '1.0.0' }));
    await eventually('a continue-as-new', async () => ((await parent.query(statusQuery)).run >= 2 ? true : undefined));
    expect((await api.call('POST', `/models/${parentId}/retrain`, { token: engineer, body: { reason: 'new quarter of data' } })).status).toBe(202);
    await approveWhenReady(childId, 'challenger wins on holdout');
    await parent.result();

    const deployments = await database.db.selectFrom('deployments').selectAll().where('model_name', '=', champion.name).orderBy('from_time').execute();
    expect(deployments.map((d) => d.model_version_id)).toEqual([parentId, childId]);
    const [t1, t2] = [deployments[0]!.from_time.getTime(), deployments[1]!.from_time.getTime()];
    const at = (ms: number) => new Date(ms).toISOString();
    const live = async (ms: number, model = champion.name) => {
      const res = await api.call('GET', `/production?at=${encodeURIComponent(at(ms))}&model=${model}`, { token: auditor });
      expect(res.status).toBe(200);
      return res.body.deployments.map((d: { modelVersionId: string }) => d.modelVersionId);
    };
    expect(await live(t1 - 1)).toEqual([]);
    expect(await live(t1)).toEqual([parentId]);
    expect(await live(t2 - 1)).toEqual([parentId]);
    expect(await live(t2)).toEqual([childId]);
    expect(await live(Date.now())).toEqual([childId]);

    const everything = await api.call('GET', `/production?at=${encodeURIComponent(at(t2 - 1))}`, { token: auditor });
    const entry = everything.body.deployments.find((d: { model: string }) => d.model === champion.name);
    expect(entry).toMatchObject({ modelVersionId: parentId, approvedBy: [{ principal: 'ava', comment: 'champion approved' }] });
    const bad = await api.call('GET', '/production?at=yesterday', { token: auditor });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues[0].field).toBe('querystring.at');

    const lineage = await api.call('GET', `/models/${champion.name}`, { token: auditor });
    expect(lineage.body.lineage).toContainEqual(
      expect.objectContaining({
        kind: 'retrained_from',
        from: parentId,
        to: childId,
        detail: expect.objectContaining({ reason: 'new quarter of data', parent: parentId, trigger: { kind: 'manual', evidence: 'requested by erin' }, runner: null }),
      }),
    );
  });

  async function snapshot(): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for (const table of PROJECTION_TABLES) {
      const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(database.db);
      out[table] = rows.map((r) => JSON.stringify(r)).sort();
    }
    return out;
  }

  /** Rows present on one side only, per table, so a failure names exactly what differs. */
  function differences(before: Record<string, string[]>, after: Record<string, string[]>): string[] {
    return Object.keys(before).flatMap((table) => [
      ...before[table]!.filter((row) => !after[table]!.includes(row)).map((row) => `${table} lost ${row}`),
      ...after[table]!.filter((row) => !before[table]!.includes(row)).map((row) => `${table} gained ${row}`),
    ]);
  }

  it('reconcile rebuilds a dropped catalog equal to the original, and repairs a damaged one', async () => {
    // Quiesce: end the one lifecycle still running so nothing writes while we compare.
    const childHandle = client.workflow.getHandle(lifecycleWorkflowId({ name: champion.name, version: '1.1.0' }));
    await api.call('POST', `/models/${champion.name}@1.1.0/retire`, { token: engineer, body: { reason: 'end of test' } });
    await childHandle.result();
    // Terminate only once each lifecycle is idle: a write cut off mid-activity has no completion in history,
    // so reconcile (which applies completed writes) could not be expected to reproduce it.
    for await (const w of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
      await settledHistoryLength(client, w.workflowId);
      await client.workflow.getHandle(w.workflowId).terminate('test over');
    }
    const query = `WorkflowType = 'modelLifecycle' AND TaskQueue = '${taskQueue}'`;
    const runs = await eventually('visibility to list every run as closed', async () => {
      let total = 0;
      for await (const w of client.workflow.list({ query })) {
        if (w.status.name === 'RUNNING') return undefined;
        total += 1;
      }
      return total >= 5 ? total : undefined;
    });

    const original = await snapshot();
    expect(original.deployments!.length).toBe(2);

    const rebuilt = await reconcileCatalog(client, database.db, { drop: true, query });
    expect(rebuilt.runs).toBe(runs);
    expect(differences(original, await snapshot())).toEqual([]);

    await database.db.deleteFrom('reports').execute();
    await database.db.deleteFrom('approval_attempts').where('status', '=', 'refused').execute();
    await database.db.deleteFrom('deployments').where('model_version_id', '=', `${champion.name}@1.1.0`).execute();
    await database.db.deleteFrom('artifacts').execute();
    await reconcileCatalog(client, database.db, { query });
    expect(differences(original, await snapshot())).toEqual([]);
  });
});
