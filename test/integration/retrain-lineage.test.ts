import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../api/tokens.js';
import { modelPage, versionPage } from '../../catalog/inventory.js';
import { projection } from '../../catalog/projection.js';
import type { Lineage } from '../../core/lifecycle.js';
import { manifestSchema, type ModelManifest } from '../../core/manifest.js';
import { lifecycleWorkflowId, modelVersionId } from '../../core/model-id.js';
import type { Principal } from '../../core/principal.js';
import { steward } from '../harness/cli.js';
import { connectTestClient, createTestDatabase, startTestApi, uniqueTaskQueue, type TestApi, type TestDatabase } from '../harness/index.js';
import { sampleManifest } from '../harness/manifests.js';

/**
 * The catalog's lineage of a retrained version on real PostgreSQL: the `retrained_from` edge carries the
 * trigger and its evidence, the runner, the run key, the training data and the parent exactly as the child
 * lifecycle's input lineage has them (what retrain.ts starts the child with), the training data are
 * `trained_on` edges named by their run, and the version page, the model page, the API and `steward show`
 * show it. A registration recorded before any of this was carried keeps its reason and shows nulls.
 */
describe('lineage of a retrained version in the catalog', () => {
  let database: TestDatabase;
  let client: Client;
  let api: TestApi;
  let auditor: string;
  const steward_: Principal = { id: 'steward', roles: [] };
  const erin: Principal = { id: 'erin', roles: ['engineer'] };

  beforeAll(async () => {
    [database, client] = await Promise.all([createTestDatabase(), connectTestClient()]);
    api = await startTestApi({ client, database, taskQueue: uniqueTaskQueue('retrain-lineage') });
    auditor = await createApiToken(database.db, 'ada', ['auditor']);
  });
  afterAll(async () => {
    await api?.close();
    await client?.connection.close();
    await database?.drop();
  });

  const register = (manifest: ModelManifest, lineage: Lineage | { parentModelVersionId: string; reason: string } | null, by: Principal) =>
    projection(database.db).registerVersion({
      workflowId: lifecycleWorkflowId(manifest),
      modelVersionId: modelVersionId(manifest),
      manifest,
      registeredBy: by,
      lineage,
      at: new Date().toISOString(),
    });
  const edges = (to: string) => database.db.selectFrom('lineage_edges').selectAll().where('to_version_id', '=', to).orderBy('kind').orderBy('from_ref').execute();

  it('a drift-triggered, runner-trained child: trigger and evidence, runner, run key, training data and parent on its edges and pages', async () => {
    const parent = manifestSchema.parse(await sampleManifest({ name: 'lineage-drift' }));
    const parentId = modelVersionId(parent);
    const data = { uri: 'file:///data/applications-2026-q4.csv', sha256: 'c'.repeat(64) };
    const child: ModelManifest = { ...parent, version: '1.1.0', trainingData: [data] };
    const childId = modelVersionId(child);
    const trigger = { kind: 'drift' as const, window: 'gw:2026-12-01T10:00', driftedColumns: ['income', 'debt_to_income'] };
    const runKey = `${lifecycleWorkflowId(parent)}/retrain/42`;
    const lineage: Lineage = {
      parentWorkflowId: lifecycleWorkflowId(parent),
      parentModelVersionId: parentId,
      reason: 'feature drift in window gw:2026-12-01T10:00: 2 of 3 columns drifted (income, debt_to_income)',
      trigger,
      training: { runner: 'command', runKey, trigger, trainingData: [data], logDigest: 'sha256:' + 'd'.repeat(64) },
    };
    await register(parent, null, erin);
    await register(child, lineage, steward_);
    // A retried activity (or reconcile) writes nothing twice.
    await register(child, lineage, steward_);

    const expected = {
      reason: lineage.reason,
      parent: parentId,
      parentWorkflowId: lifecycleWorkflowId(parent),
      trigger: { kind: 'drift', evidence: 'window gw:2026-12-01T10:00: 2 columns drifted (income, debt_to_income)' },
      runner: 'command',
      runKey,
      trainingData: [data.uri],
      logDigest: lineage.training!.logDigest,
    };
    const rows = await edges(childId);
    expect(rows.map((e) => [e.kind, e.from_ref, e.detail])).toEqual([
      ['reference_data', parent.referenceDataset!.uri, expect.anything()],
      ['retrained_from', parentId, expected],
      ['trained_on', data.uri, { sha256: data.sha256, runKey }],
    ]);

    const page = await versionPage(database.db, childId);
    expect(page?.retrainedFrom).toEqual(expected);
    expect(page?.parent).toBe(parentId);
    expect((await versionPage(database.db, parentId))?.retrainedFrom).toBeNull();
    const model = await modelPage(database.db, parent.name);
    expect(model?.lineage).toContainEqual(expect.objectContaining({ kind: 'retrained_from', from: parentId, to: childId, detail: expected }));

    // Over the API and through the CLI as people read it.
    const res = await api.call('GET', `/models/${parent.name}`, { token: auditor });
    expect(res.status).toBe(200);
    expect(res.body.lineage).toContainEqual(expect.objectContaining({ kind: 'retrained_from', from: parentId, to: childId, detail: expected }));
    const shown = await steward({ STEWARD_API: api.baseUrl, STEWARD_TOKEN: auditor }, 'show', parent.name);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout).lineage).toContainEqual(expect.objectContaining({ kind: 'retrained_from', detail: expected }));
  });

  it('an alert-triggered child and a manual one name their evidence; a child reusing its parent’s artifacts has no runner', async () => {
    const parent = manifestSchema.parse(await sampleManifest({ name: 'lineage-alert' }));
    await register(parent, null, erin);
    const base = { parentWorkflowId: lifecycleWorkflowId(parent), parentModelVersionId: modelVersionId(parent) };
    const alerted = { ...parent, version: '1.1.0' };
    await register(alerted, { ...base, reason: 'critical alert', trigger: { kind: 'alert', severity: 'critical', window: 'gw:c', breaches: ['accuracy 0.55 < 0.7', 'rocAuc 0.6 < 0.7'] } }, steward_);
    expect((await versionPage(database.db, modelVersionId(alerted)))?.retrainedFrom).toMatchObject({
      trigger: { kind: 'alert', evidence: 'critical alert on window gw:c: accuracy 0.55 < 0.7, rocAuc 0.6 < 0.7' },
      runner: null,
      runKey: null,
      trainingData: [],
    });
    const manual = { ...parent, version: '1.2.0' };
    await register(manual, { ...base, reason: 'quarterly refresh', trigger: { kind: 'manual' } }, erin);
    expect((await versionPage(database.db, modelVersionId(manual)))?.retrainedFrom).toMatchObject({ reason: 'quarterly refresh', trigger: { kind: 'manual', evidence: 'requested by erin' } });
    // No run, so its trained_on edges (the parent's training data) name none.
    const trainedOn = (await edges(modelVersionId(manual))).filter((e) => e.kind === 'trained_on');
    expect(trainedOn.map((e) => e.detail)).toEqual(parent.trainingData.map((d) => ({ sha256: d.sha256 ?? null })));
  });

  it('a registration recorded before trigger and training were carried keeps its reason; the rest is null, never guessed', async () => {
    const parent = manifestSchema.parse(await sampleManifest({ name: 'lineage-old' }));
    await register(parent, null, erin);
    const child = { ...parent, version: '1.1.0' };
    await register(child, { parentModelVersionId: modelVersionId(parent), reason: 'drift' }, steward_);
    expect((await versionPage(database.db, modelVersionId(child)))?.retrainedFrom).toEqual({
      reason: 'drift',
      parent: modelVersionId(parent),
      parentWorkflowId: null,
      trigger: null,
      runner: null,
      runKey: null,
      trainingData: [],
      logDigest: null,
    });
  });
});
