import { describe, expect, it } from 'vitest';
import { approvalInbox } from '../../catalog/approvals-inbox.js';
import { openCatalog, type CatalogDb } from '../../catalog/db.js';
import { InvalidCursorError, inProductionAt, productionPage } from '../../catalog/inventory.js';
import { migrateToLatest } from '../../catalog/migrate.js';
import { projectDeployment, projection } from '../../catalog/projection.js';
import { manifestSchema } from '../../core/manifest.js';
import { sampleManifest } from '../harness/manifests.js';

/** Production at T and the approvals inbox are paged in SQL; a walk through the pages is the whole answer. */
describe('paged catalog reads', () => {
  const withCatalog = async (fn: (db: CatalogDb) => Promise<void>) => {
    const db = await openCatalog({ kind: 'embedded', dataDir: 'memory://' });
    try {
      await migrateToLatest(db);
      await fn(db);
    } finally {
      await db.destroy();
    }
  };
  const register = async (db: CatalogDb, name: string, day: number) => {
    const manifest = manifestSchema.parse(await sampleManifest({ exactName: name }));
    const id = `${name}@1.0.0`;
    await projection(db).registerVersion({
      workflowId: `wf-${name}`,
      modelVersionId: id,
      manifest,
      registeredBy: { id: 'erin', roles: ['engineer'] },
      lineage: null,
      at: `2026-01-0${day}T00:00:00.000Z`,
    });
    return id;
  };

  it('walks production at T page by page, at the time of the first page, and refuses foreign cursors', async () => {
    await withCatalog(async (db) => {
      for (const [i, name] of ['alpha', 'bravo', 'charlie'].entries()) {
        const id = await register(db, name, 1);
        await projectDeployment(db, { deploymentId: `d-${name}`, modelName: name, modelVersionId: id, target: 'default', at: `2026-01-0${2 + i}T00:00:00.000Z` });
      }
      const at = new Date('2026-01-06T00:00:00Z');
      const first = await productionPage(db, { at, limit: 2 });
      expect(first.deployments.map((d) => d.model)).toEqual(['alpha', 'bravo']);
      expect(first.nextCursor).not.toBeNull();
      // The cursor carries its time: a later page answers for the same T even without `at`.
      const second = await productionPage(db, { limit: 2, cursor: first.nextCursor! });
      expect(second).toMatchObject({ at: at.toISOString(), nextCursor: null });
      expect(second.deployments.map((d) => d.model)).toEqual(['charlie']);
      expect([...first.deployments, ...second.deployments]).toEqual(await inProductionAt(db, at));

      expect((await productionPage(db, { at: new Date('2026-01-03T12:00:00Z'), limit: 10 })).deployments.map((d) => d.model)).toEqual(['alpha', 'bravo']);
      expect((await productionPage(db, { at: new Date('2026-01-01T00:00:00Z'), limit: 10 })).deployments).toEqual([]);
      await expect(productionPage(db, { at: new Date('2026-01-05T00:00:00Z'), limit: 2, cursor: first.nextCursor! })).rejects.toThrow(/different time/);
      await expect(productionPage(db, { limit: 2, cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidCursorError);
      const forged = Buffer.from(JSON.stringify({ at: 'yesterday', m: 'a', t: 'b', f: 'c', id: 'd' })).toString('base64url');
      await expect(productionPage(db, { limit: 2, cursor: forged })).rejects.toThrow(/not valid/);
    });
  }, 60_000);

  it('pages the inbox and keeps out the registrant and whoever already approved', async () => {
    await withCatalog(async (db) => {
      const p = projection(db);
      const ids: string[] = [];
      for (const [i, name] of ['delta', 'echo', 'foxtrot'].entries()) {
        const id = await register(db, name, 1);
        ids.push(id);
        await p.recordStage({
          workflowId: `wf-${name}`,
          modelVersionId: id,
          seq: 1,
          at: `2026-01-0${2 + i}T00:00:00.000Z`,
          actor: 'steward',
          stage: 'approval',
          outcome: 'entered',
          detail: { groups: ['risk'], quorum: 2, authors: ['erin'], owningTeams: ['credit-risk'] },
        });
      }
      await p.recordApprovalAttempt({
        workflowId: 'wf-echo',
        modelVersionId: ids[1]!,
        seq: 2,
        attempt: {
          request: { attemptId: 'a1', decision: 'approve', comment: '', principal: { id: 'ava', roles: ['approver:risk'] } },
          at: '2026-01-05T00:00:00.000Z',
          stage: 'approval',
          verdict: { status: 'counted', approvals: 1, quorum: 2, missingGroups: [] },
        },
      });
      const bob = { id: 'bob', roles: ['approver:risk'] } as const;
      const first = await approvalInbox(db, bob, { limit: 2 });
      expect(first.items.map((i) => i.modelVersionId)).toEqual(ids.slice(0, 2));
      expect(first.items[1]!.gate).toMatchObject({ groups: ['risk'], quorum: 2, approvals: ['ava'] });
      const second = await approvalInbox(db, bob, { limit: 2, cursor: first.nextCursor! });
      expect(second).toMatchObject({ nextCursor: null });
      expect(second.items.map((i) => i.modelVersionId)).toEqual([ids[2]]);

      expect((await approvalInbox(db, { id: 'ava', roles: ['approver:risk'] })).items.map((i) => i.modelVersionId)).toEqual([ids[0], ids[2]]);
      expect((await approvalInbox(db, { id: 'erin', roles: ['approver:risk'] })).items).toEqual([]);
      expect((await approvalInbox(db, { id: 'carol', roles: ['approver:compliance'] })).items).toEqual([]);
      await expect(approvalInbox(db, bob, { limit: 2, cursor: 'bad' })).rejects.toBeInstanceOf(InvalidCursorError);
    });
  }, 60_000);
});
