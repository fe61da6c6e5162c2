import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken, revokeApiTokens } from '../../api/tokens.js';
import { lifecycleWorkflowId } from '../../core/model-id.js';
import { defaultPolicy } from '../../core/policy.js';
import type { LifecycleResult } from '../../workflows/lifecycle.js';
import { statusQuery } from '../../workflows/messages.js';
import { sampleManifest } from '../harness/manifests.js';
import { stageTransitionsIn } from '../harness/history.js';
import {
  eventually,
  startTestStack,
  type TestApi,
  type TestDatabase,
  type TestStack,
} from '../harness/index.js';

describe('the HTTP API against a real dev server and PostgreSQL', () => {
  let client: Client;
  let database: TestDatabase;
  let stack: TestStack;
  let api: TestApi;
  let engineer: string;
  let approver: string;
  let artifact: { uri: string; sha256: string };

  beforeAll(async () => {
    stack = await startTestStack('api', { policy: { ...defaultPolicy, test: { minMetrics: { auc: 0.8 } } } });
    ({ client, database, api } = stack);
    engineer = await createApiToken(database.db, 'erin', ['engineer']);
    approver = await createApiToken(database.db, 'ava', ['approver:risk']);
    base = await sampleManifest();
    artifact = base.artifacts[0]!;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  let counter = 0;
  const unique = `${Date.now().toString(36)}`;
  let base: Awaited<ReturnType<typeof sampleManifest>>;
  const manifest = (name: string, extra: Record<string, unknown> = {}) => ({
    ...base,
    name: `${name}-${unique}-${counter++}`,
    artifacts: [artifact],
    metrics: { auc: 0.9 },
    ...extra,
  });

  it('answers /health without authentication', async () => {
    expect(await api.call('GET', '/health')).toEqual({ status: 200, body: { status: 'ok', catalog: 'ok', temporal: 'ok' } });
  });

  it('rejects a bad manifest with 400 naming each field, and starts nothing', async () => {
    const bad = manifest('bad', { version: 'v1', artifacts: [{ uri: 'ftp://x', sha256: 'short' }] });
    const res = await api.call('POST', '/models', { token: engineer, body: bad });
    expect(res.status).toBe(400);
    expect(res.body.error.issues.map((i: { field: string }) => i.field)).toEqual(
      expect.arrayContaining(['body.version', 'body.artifacts.0.uri', 'body.artifacts.0.sha256']),
    );
    await expect(client.workflow.getHandle(lifecycleWorkflowId({ name: bad.name, version: '1.0.0' })).describe()).rejects.toThrow();
  });

  it('rejects malformed JSON with 400 and an unknown route with 404, never 500', async () => {
    const res = await api.call('POST', '/models', { token: engineer, body: '{"name": ' });
    expect(res.status).toBe(400);
    expect(res.body.error.issues).toEqual([{ field: 'body', problem: expect.any(String) }]);
    // A forbidden prototype key is refused by the JSON parser itself, and still names the body.
    const proto = await api.call('POST', '/models', { token: engineer, body: '{"__proto__": ""}' });
    expect(proto.status).toBe(400);
    expect(proto.body.error.issues).toEqual([{ field: 'body', problem: expect.any(String) }]);
    expect((await api.call('GET', '/nope')).status).toBe(404);
  });

  it('registers idempotently and refuses a different manifest under the same version with 409', async () => {
    const m = manifest('idem');
    const first = await api.call('POST', '/models', { token: engineer, body: m });
    const again = await api.call('POST', '/models', { token: engineer, body: m });
    expect([first.status, again.status]).toEqual([201, 200]);
    expect(again.body.runId).toBe(first.body.runId);
    const conflict = await api.call('POST', '/models', { token: engineer, body: { ...m, metrics: { auc: 0.95 } } });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('version_conflict');
  });

  it('requires a token and the engineer role to register; revoked tokens stop working', async () => {
    expect((await api.call('POST', '/models', { body: manifest('anon') })).status).toBe(401);
    expect((await api.call('POST', '/models', { token: 'stw_forged', body: manifest('forged') })).status).toBe(401);
    const denied = await api.call('POST', '/models', { token: approver, body: manifest('approver') });
    expect(denied.status).toBe(403);
    const temp = await createApiToken(database.db, 'tmp-engineer', ['engineer']);
    await revokeApiTokens(database.db, 'tmp-engineer');
    expect((await api.call('POST', '/models', { token: temp, body: manifest('revoked') })).status).toBe(401);
  });

  it('ends a lifecycle whose metrics miss the policy at the test gate, recording why', async () => {
    const m = manifest('weak', { metrics: { auc: 0.55 } });
    const res = await api.call('POST', '/models', { token: engineer, body: m });
    const handle = client.workflow.getHandle(res.body.workflowId);
    const result: LifecycleResult = await handle.result();
    expect(result.endedBy).toBe('failed-test');
    const transitions = stageTransitionsIn(await handle.fetchHistory());
    expect(transitions.map((t) => [t.stage, t.outcome])).toEqual([
      ['register', 'passed'],
      ['test', 'failed'],
      ['retire', 'completed'],
    ]);
    const checks = [{ metric: 'auc', minimum: 0.8, value: 0.55, passed: false }];
    expect(transitions[1]!.report).toMatchObject({ kind: 'evaluation', summary: { passed: false, checks } });
    // The full report is in the content store under the digest history carries, and in the catalog.
    const full = await database.evidence.get(transitions[1]!.report!.digest);
    expect(full).toMatchObject({ kind: 'evaluation', modelVersionId: `${m.name}@1.0.0`, checks, metrics: { auc: 0.55 } });
    const reportRow = await database.db.selectFrom('reports').selectAll().where('model_version_id', '=', `${m.name}@1.0.0`).executeTakeFirstOrThrow();
    expect(reportRow).toMatchObject({ kind: 'evaluation', digest: transitions[1]!.report!.digest });
    const row = await database.db.selectFrom('model_versions').select('stage').where('id', '=', `${m.name}@1.0.0`).executeTakeFirstOrThrow();
    expect(row.stage).toBe('retire');
  });

  it('ends a lifecycle whose artifact does not match its digest at the security scan', async () => {
    const res = await api.call('POST', '/models', {
      token: engineer,
      body: manifest('tampered', { artifacts: [{ uri: artifact.uri, sha256: '0'.repeat(64) }] }),
    });
    const handle = client.workflow.getHandle(res.body.workflowId);
    expect(((await handle.result()) as LifecycleResult).endedBy).toBe('failed-scan');
    const scan = stageTransitionsIn(await handle.fetchHistory()).find((t) => t.stage === 'scan');
    expect(scan).toMatchObject({ outcome: 'failed', detail: { maxSeverity: 'critical' } });
  });

  it('records a rejection with its reason and never deploys', async () => {
    const m = manifest('rejected');
    const res = await api.call('POST', '/models', { token: engineer, body: m });
    const id = `${m.name}@1.0.0`;
    const handle = client.workflow.getHandle(res.body.workflowId);
    let verdict;
    for (let i = 0; i < 100 && verdict?.status !== 200; i++) {
      verdict = await api.call('POST', `/models/${id}/approvals`, {
        token: approver,
        body: { decision: 'reject', comment: 'no fairness evidence' },
        headers: { 'idempotency-key': `reject-${m.name}-${i}` },
      });
      if (verdict.status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(verdict!.body.verdict).toEqual({ status: 'accepted', decision: 'reject' });
    expect(await handle.result()).toMatchObject({ endedBy: 'rejected', reason: 'no fairness evidence' });
    const deployments = await database.db.selectFrom('deployments').select('id').where('model_name', '=', m.name).execute();
    expect(deployments).toEqual([]);
    // Refused early attempts (wrong stage) and the accepted one are all in the catalog projection.
    const attempts = await database.db.selectFrom('approval_attempts').selectAll().where('model_version_id', '=', id).orderBy('seq').execute();
    expect(attempts.at(-1)).toMatchObject({ principal: 'ava', status: 'accepted', decision: 'reject', comment: 'no fairness evidence' });
    expect(attempts.slice(0, -1).every((a) => a.status === 'refused' && a.refusal_reason === 'wrong-stage')).toBe(true);
  });

  it('refuses an approver from a group the policy does not name, and records it', async () => {
    const m = manifest('wrong-group');
    await api.call('POST', '/models', { token: engineer, body: m });
    const outsider = await createApiToken(database.db, 'olga', ['approver:marketing']);
    const id = `${m.name}@1.0.0`;
    const handle = client.workflow.getHandle(lifecycleWorkflowId({ name: m.name, version: '1.0.0' }));
    await eventually('the gate to open', async () => ((await handle.query(statusQuery)).gate ? true : undefined));
    const res = await api.call('POST', `/models/${id}/approvals`, { token: outsider, body: { decision: 'approve' } });
    expect(res.status).toBe(403);
    expect(res.body.verdict).toEqual({ status: 'refused', reason: 'role-not-allowed' });
  });

  it('answers 409 when the lifecycle has already ended', async () => {
    const m = manifest('ended', { metrics: { auc: 0.1 } });
    const res = await api.call('POST', '/models', { token: engineer, body: m });
    await client.workflow.getHandle(res.body.workflowId).result();
    const late = await api.call('POST', `/models/${m.name}@1.0.0/approvals`, { token: approver, body: { decision: 'approve' } });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('lifecycle_ended');
  });
});
