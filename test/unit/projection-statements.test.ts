import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCatalog, type CatalogDb } from '../../catalog/db.js';
import { migrateToLatest } from '../../catalog/migrate.js';
import { projectDeployment, projection, recordApprovalAttempt, recordStage } from '../../catalog/projection.js';
import { manifestSchema, type ModelManifest } from '../../core/manifest.js';
import type { ApprovalAttempt } from '../../core/approval.js';
import type { StageTransition } from '../../core/stages.js';
import { stageEvent } from '../../events/event.js';
import { sampleManifest } from '../harness/manifests.js';

/**
 * The catalog's lifecycle writes are single statements (data-modifying CTEs): a transition with its report,
 * the version's stage, its event and webhook deliveries commit together, and every write stays idempotent.
 * On the embedded catalog (PGlite), which runs the same SQL as PostgreSQL.
 */
describe('one-statement catalog writes', () => {
  let db: CatalogDb;
  let manifest: ModelManifest;
  const id = () => `${manifest.name}@1.0.0`;
  const count = async (table: 'stage_transitions' | 'reports' | 'events' | 'webhook_deliveries' | 'approval_attempts') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
  const rowsOf = async (table: 'artifacts' | 'schema_fields') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).where('model_version_id', '=', id()).executeTakeFirstOrThrow()).n);

  beforeAll(async () => {
    db = await openCatalog({ kind: 'embedded', dataDir: await mkdtemp(join(tmpdir(), 'steward-pglite-')) });
    await migrateToLatest(db);
    manifest = manifestSchema.parse(await sampleManifest({ name: 'statements' }));
    const parent = { ...manifest, version: '0.9.0' };
    const registeredBy = { id: 'erin', roles: ['engineer' as const] };
    await projection(db).registerVersion({ workflowId: 'wf-0', modelVersionId: `${manifest.name}@0.9.0`, manifest: parent, registeredBy, lineage: null, at: '2025-12-01T00:00:00.000Z' });
    await projection(db).registerVersion({
      workflowId: 'wf-1',
      modelVersionId: id(),
      manifest,
      registeredBy,
      lineage: { parentModelVersionId: `${manifest.name}@0.9.0`, reason: 'drift' },
      at: '2026-01-01T00:00:00.000Z',
    });
  }, 240_000);
  afterAll(() => db?.destroy());

  it('registers the version with its artifacts, schema fields and lineage in one statement, once', async () => {
    const expected = { artifacts: manifest.artifacts.length, fields: manifest.inputSchema.length + manifest.outputSchema.length };
    expect([await rowsOf('artifacts'), await rowsOf('schema_fields')]).toEqual([expected.artifacts, expected.fields]);
    const edges = await db.selectFrom('lineage_edges').select(['kind', 'from_ref']).where('to_version_id', '=', id()).orderBy('kind').execute();
    expect(edges.map((e) => e.kind)).toEqual(['reference_data', 'retrained_from', 'trained_on']);
    const row = await db.selectFrom('model_versions').select(['stage', 'workflow_id']).where('id', '=', id()).executeTakeFirstOrThrow();
    expect(row).toEqual({ stage: 'register', workflow_id: 'wf-1' });
  });

  it('writes a transition, its report, the stage, its event and a delivery per matching subscription together, idempotently', async () => {
    await db.insertInto('webhook_subscriptions').values([
      { id: 'all', url: 'https://example.com/a', secret: 's', event_types: JSON.stringify([]), created_by: 'erin' },
      { id: 'stages', url: 'https://example.com/b', secret: 's', event_types: JSON.stringify(['stage.transition']), created_by: 'erin' },
      { id: 'approvals', url: 'https://example.com/c', secret: 's', event_types: JSON.stringify(['approval.attempt']), created_by: 'erin' },
    ]).execute();
    const t: StageTransition = {
      workflowId: 'wf-1',
      modelVersionId: id(),
      seq: 2,
      stage: 'test',
      step: 'test',
      outcome: 'passed',
      at: '2026-01-01T00:01:00.000Z',
      actor: 'steward',
      detail: { minMetrics: { auc: 0.8 } },
      report: { kind: 'evaluation', digest: 'sha256:abc', summary: { passed: true } },
    } as StageTransition;
    const first = await recordStage(db, t, stageEvent(t));
    const retried = await recordStage(db, t, stageEvent(t));
    expect(first.sort()).toEqual(['all', 'stages']);
    // A retry still names the subscribers, so a delivery workflow that failed to start is started then.
    expect(retried.sort()).toEqual(['all', 'stages']);
    expect([await count('stage_transitions'), await count('reports'), await count('events'), await count('webhook_deliveries')]).toEqual([1, 1, 1, 2]);
    const version = await db.selectFrom('model_versions').select(['stage', 'updated_at']).where('id', '=', id()).executeTakeFirstOrThrow();
    expect([version.stage, version.updated_at.toISOString()]).toEqual(['test', t.at]);

    // An older transition arriving late never moves the stage back.
    await recordStage(db, { ...t, seq: 1, stage: 'register', step: undefined, outcome: 'passed', at: '2026-01-01T00:00:30.000Z', report: undefined } as StageTransition);
    expect((await db.selectFrom('model_versions').select('stage').where('id', '=', id()).executeTakeFirstOrThrow()).stage).toBe('test');
    // Without an event (reconcile), nothing goes to subscribers.
    expect(await count('events')).toBe(1);
  });

  it('records an approval attempt with its event to the subscribers of attempts', async () => {
    const attempt: ApprovalAttempt = {
      request: { attemptId: 'a1', decision: 'approve', comment: '', principal: { id: 'ava', roles: ['approver:risk'] } },
      at: '2026-01-01T00:02:00.000Z',
      stage: 'approval',
      verdict: { status: 'accepted', decision: 'approve' },
    };
    const input = { workflowId: 'wf-1', modelVersionId: id(), seq: 1, attempt };
    const event = { id: 'wf-1/approval/1', type: 'approval.attempt', modelVersionId: id(), workflowId: 'wf-1', at: attempt.at, data: {} };
    expect((await recordApprovalAttempt(db, input, event)).sort()).toEqual(['all', 'approvals']);
    await recordApprovalAttempt(db, input, event);
    expect(await count('approval_attempts')).toBe(1);
    const deliveries = await db.selectFrom('webhook_deliveries').select('subscription_id').where('event_id', '=', 'wf-1/approval/1').execute();
    expect(deliveries.map((d) => d.subscription_id).sort()).toEqual(['all', 'approvals']);
  });

  it('replaces the champion in one statement and answers a retried deploy with the same row', async () => {
    const base = { modelName: manifest.name, modelVersionId: id(), target: 'default' };
    const first = await projectDeployment(db, { ...base, deploymentId: 'wf-1/deploy', at: '2026-01-02T00:00:00.000Z' });
    const second = await projectDeployment(db, { ...base, deploymentId: 'wf-2/deploy', at: '2026-01-03T00:00:00.000Z' });
    const retried = await projectDeployment(db, { ...base, deploymentId: 'wf-2/deploy', at: '2026-01-04T00:00:00.000Z' });
    expect(first).toEqual({ deploymentId: 'wf-1/deploy', target: 'default', since: '2026-01-02T00:00:00.000Z' });
    expect(retried).toEqual(second);
    const rows = await db.selectFrom('deployments').select(['id', 'to_time', 'end_reason']).orderBy('id').execute();
    expect(rows.map((r) => [r.id, r.to_time?.toISOString() ?? null])).toEqual([
      ['wf-1/deploy', '2026-01-03T00:00:00.000Z'],
      ['wf-2/deploy', null],
    ]);
    // A canary runs beside the champion: nothing is ended.
    await projectDeployment(db, { ...base, deploymentId: 'wf-3/deploy/canary', strategy: 'canary', trafficShare: 0.1, at: '2026-01-05T00:00:00.000Z' });
    const live = await db.selectFrom('deployments').select(['id', 'traffic_share']).where('to_time', 'is', null).orderBy('id').execute();
    expect(live.map((r) => [r.id, Number(r.traffic_share)])).toEqual([
      ['wf-2/deploy', 1],
      ['wf-3/deploy/canary', 0.1],
    ]);
  });
});
