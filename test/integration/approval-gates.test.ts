import { isGateDecided } from '../../core/evidence.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../api/tokens.js';
import type { ManifestInput } from '../../core/manifest.js';
import { lifecycleWorkflowId } from '../../core/model-id.js';
import { defaultApprovalPolicy, defaultPolicy, type ApprovalPolicy, type LifecyclePolicy } from '../../core/policy.js';
import type { LifecycleResult } from '../../workflows/lifecycle.js';
import { statusQuery } from '../../workflows/messages.js';
import { signalsIn, stageTransitionsIn } from '../harness/history.js';
import { sampleManifest } from '../harness/manifests.js';
import {
  connectTestClient,
  createTestDatabase,
  eventually,
  startTestApi,
  startTestWorker,
  uniqueTaskQueue,
  type RunningWorker,
  type TestApi,
  type TestDatabase,
} from '../harness/index.js';

const run = promisify(execFile);

/** The approval gate on a real dev server: quorum, separation of duties, idempotency, deadlines. */
describe('approval gates', () => {
  let client: Client;
  let database: TestDatabase;
  let worker: RunningWorker;
  let taskQueue: string;
  const apis: TestApi[] = [];
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    taskQueue = uniqueTaskQueue('gates');
    database = await createTestDatabase();
    client = await connectTestClient();
    worker = await startTestWorker({ database, taskQueue });
    const people: [string, Parameters<typeof createApiToken>[2], string[]][] = [
      ['erin', ['engineer', 'approver:risk'], ['credit-risk']],
      ['rita', ['approver:risk'], ['model-risk']],
      ['raj', ['approver:risk'], ['model-risk']],
      ['tom', ['approver:risk'], ['credit-risk']],
      ['cora', ['approver:compliance'], ['compliance']],
      ['cleo', ['approver:cro'], ['executive']],
      ['eve', ['engineer'], ['credit-risk']],
      ['ada', ['auditor'], ['audit']],
    ];
    for (const [who, roles, teams] of people) tokens[who] = await createApiToken(database.db, who, roles, teams);
  });

  afterAll(async () => {
    for (const api of apis) await api.close();
    await worker?.stop();
    await client?.connection.close();
    await database?.drop();
  });

  async function apiWith(approval: Partial<ApprovalPolicy>): Promise<TestApi> {
    const policy: LifecyclePolicy = { ...defaultPolicy, approval: { ...defaultApprovalPolicy, ...approval }, monitor: { intervalMs: 60_000, cyclesPerRun: 10 } };
    const api = await startTestApi({ client, database, taskQueue, policy });
    apis.push(api);
    return api;
  }

  async function registered(api: TestApi, overrides: Partial<ManifestInput> = {}) {
    const manifest = await sampleManifest({ owner: 'erin', team: 'credit-risk', ...overrides });
    const res = await api.call('POST', '/models', { token: tokens.erin, body: manifest });
    expect(res.status).toBe(201);
    const id = `${manifest.name}@1.0.0`;
    const handle = client.workflow.getHandle(lifecycleWorkflowId({ name: manifest.name, version: '1.0.0' }));
    await eventually('the gate to open', async () => ((await handle.query(statusQuery)).gate ? true : undefined));
    const decide = (who: string, decision: 'approve' | 'reject' = 'approve', comment = '', key?: string) =>
      api.call('POST', `/models/${id}/approvals`, {
        token: tokens[who],
        body: { decision, comment },
        ...(key ? { headers: { 'idempotency-key': key } } : {}),
      });
    return { id, handle, decide };
  }

  it('needs a quorum of distinct approvers, refuses the registrant and the owning team, and records every attempt', async () => {
    const api = await apiWith({ quorum: 2, excludeOwningTeam: true });
    const { id, handle, decide } = await registered(api);

    const own = await decide('erin');
    expect([own.status, own.body.verdict]).toEqual([403, { status: 'refused', reason: 'separation-of-duties' }]);
    const teammate = await decide('tom');
    expect([teammate.status, teammate.body.verdict]).toEqual([403, { status: 'refused', reason: 'separation-of-duties' }]);
    const engineer = await decide('eve');
    expect(engineer.body.verdict).toEqual({ status: 'refused', reason: 'role-not-allowed' });
    const auditor = await decide('ada');
    expect(auditor.body.verdict).toEqual({ status: 'refused', reason: 'role-not-allowed' });

    const first = await decide('rita', 'approve', 'metrics fine');
    expect([first.status, first.body.verdict]).toEqual([200, { status: 'counted', approvals: 1, quorum: 2, missingGroups: [] }]);
    expect((await handle.query(statusQuery)).stage).toBe('approval');
    const again = await decide('rita', 'approve', 'really fine');
    expect([again.status, again.body.verdict]).toEqual([409, { status: 'refused', reason: 'duplicate-approver' }]);
    expect((await handle.query(statusQuery)).gate?.approvals).toEqual(['rita']);

    const second = await decide('raj', 'approve', 'agree');
    expect([second.status, second.body.verdict]).toEqual([200, { status: 'accepted', decision: 'approve' }]);
    await eventually('deployment', async () => ((await handle.query(statusQuery)).stage === 'monitor' ? true : undefined));

    const history = await handle.fetchHistory();
    expect(signalsIn(history, 'approval')).toHaveLength(7);
    const passed = stageTransitionsIn(history).filter(isGateDecided).find((t) => t.outcome === 'passed');
    expect(passed?.detail.approvers).toEqual(['rita', 'raj']);
    const attempts = await database.db.selectFrom('approval_attempts').select(['principal', 'status', 'refusal_reason']).where('model_version_id', '=', id).orderBy('seq').execute();
    expect(attempts.map((a) => `${a.principal}:${a.status}:${a.refusal_reason ?? ''}`)).toEqual([
      'erin:refused:separation-of-duties',
      'tom:refused:separation-of-duties',
      'eve:refused:role-not-allowed',
      'ada:refused:role-not-allowed',
      'rita:counted:',
      'rita:refused:duplicate-approver',
      'raj:accepted:',
    ]);
    await handle.terminate('test over');
  });

  it('requires every named group when the gate says so', async () => {
    const api = await apiWith({ groups: ['risk', 'compliance'], quorum: 2, requireEveryGroup: true });
    const { handle, decide } = await registered(api);
    expect((await decide('rita')).body.verdict).toEqual({ status: 'counted', approvals: 1, quorum: 2, missingGroups: ['compliance'] });
    expect((await decide('raj')).body.verdict).toEqual({ status: 'counted', approvals: 2, quorum: 2, missingGroups: ['compliance'] });
    expect((await decide('cora')).body.verdict).toEqual({ status: 'accepted', decision: 'approve' });
    await handle.terminate('test over');
  });

  it('counts two approvers posting at the same instant once each, and a retried POST once', async () => {
    const api = await apiWith({ quorum: 3 });
    const { id, handle, decide } = await registered(api);
    const [a, b, retryA] = await Promise.all([decide('rita', 'approve', '', `key-rita-${id}`), decide('raj', 'approve', '', `key-raj-${id}`), decide('rita', 'approve', '', `key-rita-${id}`)]);
    expect([a.status, b.status, retryA.status]).toEqual([200, 200, 200]);
    expect(a.body.verdict.status).toBe('counted');
    expect(b.body.verdict.status).toBe('counted');
    expect(retryA.body).toEqual(a.body);
    const status = await handle.query(statusQuery);
    expect([...status.gate!.approvals].sort()).toEqual(['raj', 'rita']);
    const rows = await eventually('both attempts in the catalog', async () => {
      const r = await database.db.selectFrom('approval_attempts').selectAll().where('model_version_id', '=', id).execute();
      return r.length >= 2 ? r : undefined;
    });
    expect(rows).toHaveLength(2);
    await handle.terminate('test over');
  });

  it('ends the gate on one rejection, which needs a reason', async () => {
    const api = await apiWith({ quorum: 2 });
    const { handle, decide } = await registered(api);
    const noReason = await decide('rita', 'reject');
    expect(noReason.status).toBe(400);
    expect(noReason.body.error.issues[0].field).toBe('body.comment');
    expect((await decide('rita', 'approve')).body.verdict.status).toBe('counted');
    expect((await decide('raj', 'reject', 'fairness report missing')).body.verdict).toEqual({ status: 'accepted', decision: 'reject' });
    const result: LifecycleResult = await handle.result();
    expect(result).toMatchObject({ endedBy: 'rejected', reason: 'fairness report missing' });
  });

  it('reminds, escalates and rejects at the deadline, on durable timers', async () => {
    const api = await apiWith({
      deadline: { timeoutMs: 3000, remindAfterMs: [800], escalateAfterMs: 1600, escalationGroup: 'cro', onTimeout: { action: 'reject' } },
    });
    const { id, handle } = await registered(api);
    const result: LifecycleResult = await handle.result();
    expect(result.endedBy).toBe('expired');
    const events = await database.db.selectFrom('events').select(['type', 'data', 'at']).where('model_version_id', '=', id).orderBy('at').execute();
    const types = events.map((e) => (e.type === 'stage.transition' ? `${(e.data as { stage: string }).stage}:${(e.data as { outcome: string }).outcome}` : e.type));
    expect(types.slice(types.indexOf('approval:entered'))).toEqual(['approval:entered', 'approval.reminder', 'approval.escalation', 'approval:expired', 'retire:completed']);
    const opened = events.find((e) => e.type === 'stage.transition' && (e.data as { stage: string }).stage === 'approval')!.at.getTime();
    const at = (type: string) => events.find((e) => e.type === type)!.at.getTime() - opened;
    expect(at('approval.reminder')).toBeGreaterThanOrEqual(800);
    expect(at('approval.escalation')).toBeGreaterThanOrEqual(1600);
    expect(events.find((e) => e.type === 'approval.escalation')!.data).toMatchObject({ group: 'cro' });
  });

  it('hands the gate to another group at the timeout when told to escalate', async () => {
    const api = await apiWith({
      deadline: { timeoutMs: 1000, remindAfterMs: [], escalateAfterMs: null, escalationGroup: null, onTimeout: { action: 'escalate', group: 'cro', extraMs: 60_000 } },
    });
    const { handle, decide } = await registered(api);
    await eventually('the escalation', async () => ((await handle.query(statusQuery)).gate?.eligibleGroups.includes('cro') ? true : undefined));
    expect((await decide('rita')).body.verdict).toEqual({ status: 'refused', reason: 'role-not-allowed' });
    expect((await decide('cleo', 'approve', 'signed off by the CRO')).body.verdict).toEqual({ status: 'accepted', decision: 'approve' });
    await eventually('deployment', async () => ((await handle.query(statusQuery)).stage === 'monitor' ? true : undefined));
    const transitions = stageTransitionsIn(await handle.fetchHistory()).filter((t) => t.stage === 'approval');
    expect(transitions.map((t) => t.outcome)).toEqual(['entered', 'escalated', 'passed']);
    await handle.terminate('test over');
  });

  it('fires the deadline although the worker was down when it came due', async () => {
    const api = await apiWith({
      deadline: { timeoutMs: 1500, remindAfterMs: [], escalateAfterMs: null, escalationGroup: null, onTimeout: { action: 'reject' } },
    });
    const { handle } = await registered(api);
    // The gate opens before its entry is recorded; its timer is started once that record completes.
    await eventually('the deadline timer to start', async () =>
      (await handle.fetchHistory()).events?.some((e) => e.timerStartedEventAttributes) ? true : undefined,
    );
    await worker.stop();
    // The server fires the deadline's timer with no worker alive; the restarted worker finds it in history.
    await eventually('the deadline timer to fire while the worker is down', async () =>
      (await handle.fetchHistory()).events?.some((e) => e.timerFiredEventAttributes) ? true : undefined,
    );
    worker = await startTestWorker({ database, taskQueue });
    const result: LifecycleResult = await handle.result();
    expect(result.endedBy).toBe('expired');
    const expired = stageTransitionsIn(await handle.fetchHistory()).find((t) => t.outcome === 'expired');
    expect(expired?.stage).toBe('approval');
  });
});

describe('the approval inbox', () => {
  let client: Client;
  let database: TestDatabase;
  let worker: RunningWorker;
  let api: TestApi;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    const taskQueue = uniqueTaskQueue('inbox');
    database = await createTestDatabase();
    client = await connectTestClient();
    worker = await startTestWorker({ database, taskQueue });
    api = await startTestApi({
      client,
      database,
      taskQueue,
      policy: { ...defaultPolicy, approval: { ...defaultApprovalPolicy, quorum: 2, excludeOwningTeam: true }, monitor: { intervalMs: 60_000, cyclesPerRun: 10 } },
    });
    tokens.erin = await createApiToken(database.db, 'erin', ['engineer'], ['credit-risk']);
    tokens.rita = await createApiToken(database.db, 'rita', ['approver:risk'], ['model-risk']);
    tokens.raj = await createApiToken(database.db, 'raj', ['approver:risk'], ['model-risk']);
    tokens.tom = await createApiToken(database.db, 'tom', ['approver:risk'], ['credit-risk']);
    tokens.cora = await createApiToken(database.db, 'cora', ['approver:compliance'], ['compliance']);
  });

  afterAll(async () => {
    for await (const w of client.workflow.list({ query: `ExecutionStatus = 'Running' AND StewardOwner = 'erin-inbox'` })) {
      await client.workflow.getHandle(w.workflowId).terminate('test over');
    }
    await api?.close();
    await worker?.stop();
    await client?.connection.close();
    await database?.drop();
  });

  const inbox = async (who: string) => (await api.call('GET', '/approvals', { token: tokens[who] })).body.items as {
    modelVersionId: string;
    gate: { groups: string[]; quorum: number; approvals: string[] };
    evidence: { metrics: Record<string, number>; reports: { kind: string }[]; champion: { modelVersionId: string; changes: { path: string }[] } | null };
  }[];

  it('lists the gates each caller may decide, with evidence and the diff from the champion', async () => {
    const v1 = await sampleManifest({ name: 'inbox', owner: 'erin-inbox', team: 'credit-risk', metrics: { auc: 0.88 } });
    await api.call('POST', '/models', { token: tokens.erin, body: v1 });
    const v1id = `${v1.name}@1.0.0`;
    await eventually('v1 in rita’s inbox', async () => ((await inbox('rita')).some((i) => i.modelVersionId === v1id) ? true : undefined));
    for (const who of ['rita', 'raj']) {
      const res = await api.call('POST', `/models/${v1id}/approvals`, { token: tokens[who], body: { decision: 'approve' } });
      expect(res.status).toBe(200);
    }
    await eventually('v1 deployed', async () => {
      const rows = await database.db.selectFrom('deployments').select('id').where('model_version_id', '=', v1id).execute();
      return rows.length ? rows : undefined;
    });

    await api.call('POST', '/models', { token: tokens.erin, body: { ...v1, version: '1.1.0', metrics: { auc: 0.91 } } });
    const v2id = `${v1.name}@1.1.0`;
    const item = await eventually('v2 in rita’s inbox', async () => (await inbox('rita')).find((i) => i.modelVersionId === v2id));
    expect(item.gate).toMatchObject({ groups: ['risk'], quorum: 2, approvals: [] });
    expect(item.evidence.metrics).toEqual({ auc: 0.91 });
    expect(item.evidence.reports.map((r) => r.kind).sort()).toEqual(['evaluation', 'scan']);
    expect(item.evidence.champion?.modelVersionId).toBe(v1id);
    expect(item.evidence.champion?.changes.map((c) => c.path)).toContain('metrics.auc');

    // Not for the registrant, not for the owning team, not for another group; gone once you approved.
    expect((await inbox('erin')).map((i) => i.modelVersionId)).not.toContain(v2id);
    expect((await inbox('tom')).map((i) => i.modelVersionId)).not.toContain(v2id);
    expect((await inbox('cora')).map((i) => i.modelVersionId)).not.toContain(v2id);
    await api.call('POST', `/models/${v2id}/approvals`, { token: tokens.rita, body: { decision: 'approve' } });
    await eventually('rita’s approval in the catalog', async () => ((await inbox('rita')).some((i) => i.modelVersionId === v2id) ? undefined : true));
    const forRaj = (await inbox('raj')).find((i) => i.modelVersionId === v2id);
    expect(forRaj?.gate.approvals).toEqual(['rita']);

    // The same through the CLI: inbox, a reasonless rejection refused, an approval accepted.
    const cli = (who: string, ...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { env: { ...process.env, STEWARD_API: api.baseUrl, STEWARD_TOKEN: tokens[who] } }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      );
    const listed = await cli('raj', 'approvals');
    expect(JSON.parse(listed.stdout).items.map((i: { modelVersionId: string }) => i.modelVersionId)).toContain(v2id);
    const reasonless = await cli('raj', 'reject', v2id);
    expect(reasonless.code).toBe(1);
    expect(reasonless.stderr).toContain('body.comment: a rejection needs a reason in comment');
    const approved = await cli('raj', 'approve', v2id, '-m', 'second look agrees');
    expect(approved.code).toBe(0);
    expect(JSON.parse(approved.stdout).verdict).toEqual({ status: 'accepted', decision: 'approve' });
  });
});
