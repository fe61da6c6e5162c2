import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { archiveActivities } from '../../activities/archive.js';
import { exportBundle, sealBundle, verifyBundle, type BundledLifecycle, type EvidenceBundle } from '../../audit/bundle.js';
import { HistoryArchive } from '../../evidence/history-archive.js';
import { formatLineage, lineageOf, productionAt } from '../../audit/lineage.js';
import { auditReplay, historiesIn } from '../../audit/replay.js';
import { inProductionAt } from '../../catalog/inventory.js';
import { reconcileCatalog } from '../../catalog/reconcile.js';
import { createApiToken } from '../../api/tokens.js';
import { lifecycleWorkflowId } from '../../core/model-id.js';
import { defaultPolicy } from '../../core/policy.js';
import { ensureTemporalCli } from '../../platform/temporal-cli.js';
import { bundleWorkflows } from '../../workers/bundle.js';
import type { LifecycleResult } from '../../workflows/lifecycle.js';
import { statusQuery } from '../../workflows/messages.js';
import { sampleManifest } from '../harness/manifests.js';
import { steward } from '../harness/cli.js';
import { eventually, startTestStack, type TestStack } from '../harness/index.js';

const run = promisify(execFile);

type Mutable = { -readonly [K in keyof EvidenceBundle]: EvidenceBundle[K] };

/** Evidence bundles from a real lifecycle with a retrain and a retirement: export, verify, tamper, replay. */
describe('audit evidence', () => {
  let stack: TestStack;
  let client: Client;
  let bundle: EvidenceBundle;
  let name: string;
  const keys = generateKeyPairSync('ed25519');
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    stack = await startTestStack('audit', { policy: { ...defaultPolicy, monitor: { intervalMs: 150, cyclesPerRun: 2 } } });
    client = stack.client;
    const { api, database } = stack;
    tokens.erin = await createApiToken(database.db, 'erin', ['engineer']);
    tokens.ava = await createApiToken(database.db, 'ava', ['approver:risk']);
    tokens.ada = await createApiToken(database.db, 'ada', ['auditor']);
    const manifest = await sampleManifest({ name: 'audited' });
    name = manifest.name;
    await api.call('POST', '/models', { token: tokens.erin, body: manifest });
    const approve = (id: string, comment: string) =>
      eventually(`approval of ${id}`, async () => {
        const res = await api.call('POST', `/models/${id}/approvals`, { token: tokens.ava, body: { decision: 'approve', comment } });
        return res.status === 200 ? res : undefined;
      });
    await approve(`${name}@1.0.0`, 'first champion');
    const parent = client.workflow.getHandle(lifecycleWorkflowId({ name, version: '1.0.0' }));
    await eventually('a continue-as-new', async () => ((await parent.query(statusQuery)).run >= 2 ? true : undefined));
    await api.call('POST', `/models/${name}@1.0.0/retrain`, { token: tokens.erin, body: { reason: 'drift on income' } });
    await approve(`${name}@1.1.0`, 'challenger');
    await parent.result();
    await api.call('POST', `/models/${name}@1.1.0/retire`, { token: tokens.erin, body: { reason: 'model withdrawn' } });
    const child: LifecycleResult = await client.workflow.getHandle(lifecycleWorkflowId({ name, version: '1.1.0' })).result();
    expect(child.endedBy).toBe('retired');
    bundle = await exportBundle(client, { name, version: '1.0.0' }, { exportedBy: 'ada', signingKey: keys.privateKey });
  });

  afterAll(() => stack?.stop());

  it('exports every run of the lifecycle and its retrained child, and verifies', () => {
    expect(bundle.lifecycles.map((l) => [l.modelVersionId, l.parentWorkflowId])).toEqual([
      [`${name}@1.0.0`, null],
      [`${name}@1.1.0`, lifecycleWorkflowId({ name, version: '1.0.0' })],
    ]);
    expect(bundle.lifecycles[0]!.runs.length).toBeGreaterThanOrEqual(2);
    expect(bundle.chain).toHaveLength(bundle.lifecycles.flatMap((l) => l.runs).length);
    expect(verifyBundle(bundle, keys.publicKey)).toMatchObject({ ok: true, format: 2 });
  });

  it('names the history and event when one byte of one history is altered', () => {
    const tampered = structuredClone(bundle) as { -readonly [K in keyof EvidenceBundle]: EvidenceBundle[K] };
    const target = tampered.lifecycles[1]!.runs[0]!;
    const event = target.history.events[4] as { eventTime: string; eventId: string };
    event.eventTime = event.eventTime.replace(/\d(?=Z$|\.\d+Z$)/, (d) => String((Number(d) + 1) % 10));
    expect(verifyBundle(tampered as EvidenceBundle, keys.publicKey)).toEqual({
      ok: false,
      problem: `lifecycles.1.runs.0.history: event ${event.eventId} has been altered (${target.workflowId} run ${target.runId})`,
    });
  });

  it('fails with the wrong key, and when the chain is re-computed without the key', () => {
    const other = generateKeyPairSync('ed25519');
    expect(verifyBundle(bundle, other.publicKey)).toMatchObject({ ok: false, problem: expect.stringContaining('signature') });
    const altered = { ...bundle, exportedBy: 'mallory' };
    expect(verifyBundle(altered)).toEqual({ ok: false, problem: 'exportedBy: has been altered (its digest differs from digests.exportedBy)' });
  });

  it('fails naming the field when any top-level field is forged, even re-sealed and re-signed', async () => {
    const forgeries: Record<keyof EvidenceBundle, (b: Mutable) => void> = {
      format: (b) => (b.format = 'steward-evidence-bundle/3' as EvidenceBundle['format']),
      subject: (b) => (b.subject = `${name}@1.1.0`),
      exportedAt: (b) => (b.exportedAt = '2020-01-01T00:00:00.000Z'),
      exportedBy: (b) => (b.exportedBy = 'mallory'),
      lifecycles: (b) => (b.lifecycles = b.lifecycles.slice(0, 1)),
      chain: (b) => (b.chain = b.chain.slice(0, -1)),
      digests: (b) => (b.digests = { ...b.digests, exportedBy: b.digests.exportedAt }),
      signature: (b) => (b.signature = { ...b.signature!, value: Buffer.alloc(64).toString('base64') }),
    };
    expect(Object.keys(forgeries).sort()).toEqual(Object.keys(bundle).sort());
    for (const [field, forge] of Object.entries(forgeries)) {
      const forged = structuredClone(bundle) as Mutable;
      forge(forged);
      const result = verifyBundle(forged, keys.publicKey);
      // `digests` forged names the field whose digest no longer matches, and digests.<field>.
      expect(result, field).toMatchObject({ ok: false, problem: expect.stringMatching(new RegExp(`(^|[\\s(])${field}[.:\\s)]`)) });
    }

    // The fields the issue names, forged in the lifecycle they describe: named whoever seals and signs.
    const mallory = generateKeyPairSync('ed25519');
    const claims: Record<string, (l: { -readonly [K in keyof BundledLifecycle]: BundledLifecycle[K] }) => void> = {
      modelVersionId: (l) => (l.modelVersionId = `${name}@9.0.0`),
      manifest: (l) => (l.manifest = { ...(l.manifest as object), owner: 'mallory' } as BundledLifecycle['manifest']),
      template: (l) => (l.template = 'high-risk@1'),
      templates: (l) => (l.templates = ['high-risk@1']),
      workflowId: (l) => (l.workflowId = 'model-version:other@1.0.0'),
      parentWorkflowId: (l) => (l.parentWorkflowId = 'model-version:other@1.0.0'),
    };
    for (const [field, forge] of Object.entries(claims)) {
      const { digests: _d, signature: _s, ...unsigned } = structuredClone(bundle) as Mutable;
      forge(unsigned.lifecycles[0] as never);
      const resealed = sealBundle(unsigned, keys.privateKey);
      expect(verifyBundle(resealed, keys.publicKey), field).toMatchObject({ ok: false, problem: expect.stringMatching(new RegExp(`^lifecycles\\.0\\.${field}: `)) });
      const resigned = sealBundle(unsigned, mallory.privateKey);
      expect(verifyBundle(resigned), field).toMatchObject({ ok: false, problem: expect.stringMatching(new RegExp(`^lifecycles\\.0\\.${field}: `)) });
      // Lineage reads the histories, not the claim.
      expect(lineageOf(resigned)).toEqual(lineageOf(bundle));
    }
    // Export metadata is the signature's: re-signed by another key, it fails against the trusted one.
    const { digests: _d, signature: _s, ...unsigned } = bundle;
    expect(verifyBundle(sealBundle({ ...unsigned, exportedBy: 'mallory' }, mallory.privateKey), keys.publicKey)).toEqual({
      ok: false,
      problem: 'signature: does not match the bundle or was not made with the trusted key',
    });

    // The CLI: verify names the field and exits 1; lineage refuses a bundle that does not verify.
    const dir = await mkdtemp(join(tmpdir(), 'steward-bundle-'));
    try {
      const forged = structuredClone(bundle) as Mutable;
      (forged.lifecycles[0] as { manifest: { owner: string } }).manifest.owner = 'mallory';
      await writeFile(join(dir, 'forged.json'), JSON.stringify(forged));
      await writeFile(join(dir, 'good.json'), JSON.stringify(bundle));
      await writeFile(join(dir, 'key.pem'), keys.publicKey.export({ format: 'pem', type: 'spki' }));
      const verified = await steward({}, 'audit', 'verify', join(dir, 'forged.json'));
      expect(verified.code).toBe(1);
      expect(verified.stderr).toMatch(new RegExp(`^steward: .*forged\\.json: lifecycles\\.0\\.manifest: differs from what the histories of model-version:${name}@1\\.0\\.0 record`));
      const lineage = await steward({}, 'audit', 'lineage', join(dir, 'forged.json'));
      expect(lineage.code).toBe(1);
      expect(lineage.stderr).toContain('refusing to derive a lineage from a bundle that does not verify: lifecycles.0.manifest');
      expect(await steward({}, 'audit', 'verify', join(dir, 'good.json'), '--public-key', join(dir, 'key.pem'))).toMatchObject({
        code: 0,
        stdout: expect.stringMatching(/OK \(format 2, \d+ histories, signed by sha256:[0-9a-f]{16} \(the trusted key\)\)/),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('derives a lineage from the histories alone that agrees with the catalog', async () => {
    const report = lineageOf(bundle);
    const db = stack.database.db;
    expect(report.versions.map((v) => [v.modelVersionId, v.parent?.modelVersionId ?? null])).toEqual([
      [`${name}@1.0.0`, null],
      [`${name}@1.1.0`, `${name}@1.0.0`],
    ]);
    for (const v of report.versions) {
      const transitions = await db.selectFrom('stage_transitions').select(['seq', 'stage', 'outcome', 'actor']).where('model_version_id', '=', v.modelVersionId).orderBy('seq').execute();
      expect(v.stages.map(({ seq, stage, outcome, actor }) => ({ seq, stage, outcome, actor }))).toEqual(transitions);
      const attempts = await db.selectFrom('approval_attempts').select(['seq', 'principal', 'decision', 'comment', 'status']).where('model_version_id', '=', v.modelVersionId).orderBy('seq').execute();
      expect(v.approvals.map((a) => ({ seq: a.seq, principal: a.principal, decision: a.decision, comment: a.comment, status: a.verdict.status }))).toEqual(attempts);
    }
    const deployments = await db.selectFrom('deployments').selectAll().where('model_name', '=', name).orderBy('from_time').execute();
    expect(report.deployments).toEqual(
      deployments.map((d) => ({
        deploymentId: d.id,
        modelVersionId: d.model_version_id,
        target: d.target,
        strategy: d.strategy,
        trafficShare: d.traffic_share,
        from: d.from_time.toISOString(),
        to: d.to_time?.toISOString() ?? null,
        endReason: d.end_reason,
      })),
    );

    const text = formatLineage(report);
    for (const expected of ['ava', 'first champion', 'challenger', 'drift on income', 'evaluation', 'scan', 'model withdrawn', `replaced by ${name}@1.1.0`]) {
      expect(text).toContain(expected);
    }

    // Point in time, from histories: who was serving, who approved it, on which evidence.
    const midway = new Date(new Date(report.deployments[0]!.from).getTime() + 1);
    const [serving] = productionAt(report, midway);
    expect(serving).toMatchObject({ modelVersionId: `${name}@1.0.0`, approvedBy: [{ principal: 'ava', comment: 'first champion' }] });
    expect(serving!.evidence.map((e) => e.kind)).toEqual(['evaluation', 'scan']);
    const catalogView = await inProductionAt(db, midway, name);
    expect(catalogView.map((d) => d.modelVersionId)).toEqual([serving!.modelVersionId]);
  });

  it('exports over the API for auditors only, and logs every export', async () => {
    const { api, database } = stack;
    expect((await api.call('GET', `/audit/models/${name}@1.0.0/export`, { token: tokens.erin })).status).toBe(403);
    const res = await api.call('GET', `/audit/models/${name}@1.0.0/export`, { token: tokens.ada });
    expect(res.status).toBe(200);
    expect(verifyBundle(res.body)).toMatchObject({ ok: true });
    const logged = await database.db.selectFrom('events').selectAll().where('type', '=', 'audit.export').execute();
    expect(logged.map((e) => [e.model_version_id, (e.data as { exportedBy: string }).exportedBy])).toEqual([[`${name}@1.0.0`, 'ada']]);
  });

  it('replays a history exported by the temporal CLI, and names the event a non-replay-safe change breaks', async () => {
    const cli = await ensureTemporalCli();
    const { stdout } = await run(cli.path, [
      'workflow', 'show', '--workflow-id', lifecycleWorkflowId({ name, version: '1.1.0' }), '--output', 'json', '--address', inject('temporalAddress'),
    ], { maxBuffer: 64 * 1024 * 1024 });
    const histories = historiesIn(JSON.parse(stdout), 'child.json');
    expect(await auditReplay(histories, await bundleWorkflows())).toEqual([{ history: 'child.json', ok: true, eventId: null, error: null }]);

    const broken = await bundleWorkflows(join(process.cwd(), 'test', 'fixtures', 'workflows', 'timer-first-lifecycle.ts'));
    const [report] = await auditReplay(histories, broken);
    expect(report).toMatchObject({ history: 'child.json', ok: false, eventId: expect.any(Number) });

    const all = await auditReplay(historiesIn(bundle, 'bundle.json'), await bundleWorkflows());
    expect(all.every((r) => r.ok)).toBe(true);
  });
});

describe('evidence that outlives Temporal', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack('archive');
  });
  afterAll(() => stack?.stop());

  it('archives closed runs, and export, verify and replay are unchanged after `temporal workflow delete`', async () => {
    const { client, api, database, taskQueue } = stack;
    const erin = await createApiToken(database.db, 'erin', ['engineer']);
    const ava = await createApiToken(database.db, 'ava', ['approver:risk']);
    // No inline policy here: a medium-risk model on the default (standard) template, with one approver.
    const manifest = await sampleManifest({ name: 'archived', riskTier: 'medium' });
    await api.call('POST', '/models', { token: erin, body: manifest });
    const id = `${manifest.name}@1.0.0`;
    await eventually('approval', async () => {
      const res = await api.call('POST', `/models/${id}/approvals`, { token: ava, body: { decision: 'approve', comment: 'archive me' } });
      return res.status === 200 ? res : undefined;
    });
    const workflowId = lifecycleWorkflowId({ name: manifest.name, version: '1.0.0' });
    await eventually('monitoring', async () => ((await client.workflow.getHandle(workflowId).query(statusQuery)).stage === 'monitor' ? true : undefined));
    await api.call('POST', `/models/${id}/retire`, { token: erin, body: { reason: 'end of life' } });
    await client.workflow.getHandle(workflowId).result();

    // The archiver's activity, as the archive workflow runs it, on this stack's lifecycles.
    const archive = new HistoryArchive(database.evidence);
    const query = `WorkflowType = 'modelLifecycle' AND ExecutionStatus != 'Running' AND TaskQueue = '${taskQueue}'`;
    await eventually('visibility to list the closed run', async () => {
      for await (const w of client.workflow.list({ query })) if (w.workflowId === workflowId) return true;
      return undefined;
    });
    const env = new MockActivityEnvironment({}, { client });
    const { archiveClosedRuns } = archiveActivities(database.evidence);
    const result = (await env.run(archiveClosedRuns, { query })) as { archived: number };
    expect(result.archived).toBeGreaterThanOrEqual(1);
    expect(await env.run(archiveClosedRuns, { query })).toMatchObject({ archived: 0 });
    expect(await archive.verify()).toMatchObject({ ok: true });

    const before = await exportBundle(client, { name: manifest.name, version: '1.0.0' }, { exportedBy: 'ada', archive });
    const catalogBefore = await database.db.selectFrom('stage_transitions').selectAll().where('workflow_id', '=', workflowId).orderBy('seq').execute();

    const cli = await ensureTemporalCli();
    for (const r of before.chain) {
      await run(cli.path, ['workflow', 'delete', '--workflow-id', r.workflowId, '--run-id', r.runId, '--address', inject('temporalAddress')]);
    }
    // Deletion is asynchronous on the server, and slow under load.
    await eventually(
      'Temporal to forget the lifecycle',
      async () => {
        try {
          await client.workflow.getHandle(workflowId).describe();
          return undefined;
        } catch {
          return true;
        }
      },
      { timeoutMs: 150_000, intervalMs: 500 },
    );

    const after = await exportBundle(client, { name: manifest.name, version: '1.0.0' }, { exportedBy: 'ada', archive });
    expect(after.chain).toEqual(before.chain);
    expect(verifyBundle(after)).toMatchObject({ ok: true });
    expect((await auditReplay(historiesIn(after, 'after.json'), await bundleWorkflows())).every((r) => r.ok)).toBe(true);
    const viaApi = await api.call('GET', `/audit/models/${id}/export`, { token: await createApiToken(database.db, 'ada', ['auditor']) });
    expect(viaApi.status).toBe(200);
    expect(viaApi.body.chain).toEqual(before.chain);
    expect(lineageOf(after)).toEqual(lineageOf(before));

    // And the catalog can still be rebuilt from the archive alone.
    const rebuilt = await reconcileCatalog(client, database.db, { drop: true, query, archive });
    expect(rebuilt.runs).toBe(before.chain.length);
    expect(await database.db.selectFrom('stage_transitions').selectAll().where('workflow_id', '=', workflowId).orderBy('seq').execute()).toEqual(catalogBefore);
  }, 240_000);
});
