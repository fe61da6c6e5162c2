import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../api/tokens.js';
import type { ManifestInput } from '../../core/manifest.js';
import { lifecycleWorkflowId } from '../../core/model-id.js';
import { defaultPolicy, type LifecyclePolicy } from '../../core/policy.js';
import { STAGES } from '../../core/stages.js';
import type { LifecycleResult } from '../../workflows/lifecycle.js';
import { statusQuery } from '../../workflows/messages.js';
import {
  eventually,
  startTestStack,
  type TestApi,
  type TestDatabase,
  type TestStack,
} from '../harness/index.js';
import { sampleManifest } from '../harness/manifests.js';
import { lifecycleRunHistories } from '../../audit/run-histories.js';
import { settledHistoryLength, stageTransitionsIn } from '../harness/history.js';

/** Short durations so the monitor loop continues-as-new within seconds. */
const policy: LifecyclePolicy = {
  ...defaultPolicy,
  test: { minMetrics: { auc: 0.8 } },
  monitor: { intervalMs: 150, cyclesPerRun: 3 },
};

describe('a model version walks the whole lifecycle on a real dev server and real PostgreSQL', () => {
  let client: Client;
  let database: TestDatabase;
  let stack: TestStack;
  let api: TestApi;
  let engineer: string;
  let approver: string;
  let manifest: ManifestInput;

  beforeAll(async () => {
    stack = await startTestStack('e2e', { policy });
    ({ client, database, api } = stack);
    engineer = await createApiToken(database.db, 'erin', ['engineer']);
    approver = await createApiToken(database.db, 'ava', ['approver:risk']);
    manifest = await sampleManifest({ name: 'credit-score', owner: 'erin' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('registers, gates, deploys, monitors across runs, retrains into a child and retires', async () => {
    const id = `${manifest.name}@1.0.0`;
    const childId = `${manifest.name}@1.1.0`;
    const workflowId = lifecycleWorkflowId({ name: manifest.name, version: '1.0.0' });

    const registered = await api.call('POST', '/models', { token: engineer, body: manifest });
    expect(registered.status).toBe(201);
    expect(registered.body.workflowId).toBe(workflowId);

    await eventually('the approval stage', async () => {
      const res = await api.call('GET', `/models/${id}`, { token: approver });
      return res.body.stage === 'approval' ? res : undefined;
    });

    // A bad body is refused naming the field, and nothing reaches the workflow.
    const before = await settledHistoryLength(client, workflowId);
    const bad = await api.call('POST', `/models/${id}/approvals`, { token: approver, body: { decision: 'maybe' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues[0].field).toBe('body.decision');
    expect((await client.workflow.getHandle(workflowId).fetchHistory()).events?.length).toBe(before);

    // The registrant cannot approve their own model; the refusal is recorded.
    const own = await api.call('POST', `/models/${id}/approvals`, { token: engineer, body: { decision: 'approve' } });
    expect(own.status).toBe(403);
    expect(own.body.verdict).toEqual({ status: 'refused', reason: 'separation-of-duties' });

    const approved = await api.call('POST', `/models/${id}/approvals`, {
      token: approver,
      body: { decision: 'approve', comment: 'AUC 0.91 on the holdout; scan clean' },
    });
    expect(approved.status).toBe(200);
    expect(approved.body.verdict).toEqual({ status: 'accepted', decision: 'approve' });

    // Monitor for at least two continue-as-new runs.
    const handle = client.workflow.getHandle(workflowId);
    await eventually('the third monitor run', async () => {
      const status = await handle.query(statusQuery);
      return status.run >= 3 ? status : undefined;
    });

    const retrain = await api.call('POST', `/models/${id}/retrain`, {
      token: engineer,
      body: { reason: 'quarterly refresh on new applications', metrics: { auc: 0.93 } },
    });
    expect(retrain.status).toBe(202);

    await eventually('the child at its approval gate', async () => {
      const res = await api.call('GET', `/models/${childId}`, { token: approver });
      return res.body.stage === 'approval' ? res : undefined;
    });
    const childApproved = await api.call('POST', `/models/${childId}/approvals`, {
      token: approver,
      body: { decision: 'approve', comment: 'retrained champion' },
    });
    expect(childApproved.body.verdict.status).toBe('accepted');

    const result: LifecycleResult = await handle.result();
    expect(result.endedBy).toBe('superseded');

    // The stage sequence, read back from the recorded histories of every run.
    const runs = await lifecycleRunHistories(client, workflowId);
    expect(runs.length).toBeGreaterThanOrEqual(3);
    for (const run of runs) expect(run.history.events!.length).toBeLessThan(4096);
    const transitions = runs.flatMap((r) => stageTransitionsIn(r.history));
    const stagesInOrder = transitions.map((t) => t.stage).filter((s, i, all) => s !== all[i - 1]);
    expect(stagesInOrder).toEqual([...STAGES]);
    expect(transitions.map((t) => t.seq)).toEqual(transitions.map((_, i) => i + 1));
    expect(transitions.filter((t) => t.stage === 'approval').map((t) => t.outcome)).toEqual(['entered', 'passed']);
    expect(transitions.find((t) => t.stage === 'approval' && t.outcome === 'passed')).toMatchObject({
      actor: 'ava',
      outcome: 'passed',
      detail: { comment: 'AUC 0.91 on the holdout; scan clean' },
    });

    // The child is its own lifecycle, started by the parent, abandoned on close, linked in its history.
    const childWorkflowId = lifecycleWorkflowId({ name: manifest.name, version: '1.1.0' });
    // Its first run: by now the child may have continued-as-new in its own monitor loop.
    const [childFirstRun] = await lifecycleRunHistories(client, childWorkflowId);
    const childHistory = childFirstRun!.history;
    const started = childHistory.events![0]!.workflowExecutionStartedEventAttributes!;
    expect(started.parentWorkflowExecution?.workflowId).toBe(workflowId);
    expect(stageTransitionsIn(childHistory)[0]).toMatchObject({ stage: 'register', detail: { parent: id } });
    expect((await client.workflow.getHandle(childWorkflowId).describe()).status.name).toBe('RUNNING');

    // The catalog projection agrees: one champion at a time, the parent replaced by the child.
    const deployments = await database.db
      .selectFrom('deployments')
      .selectAll()
      .where('model_name', '=', manifest.name)
      .orderBy('from_time')
      .execute();
    expect(deployments.map((d) => [d.model_version_id, d.to_time === null])).toEqual([
      [id, false],
      [childId, true],
    ]);
    expect(deployments[0]!.end_reason).toBe(`replaced by ${childId}`);

    // Retire the child too; its lifecycle ends and its deployment closes.
    const retired = await api.call('POST', `/models/${childId}/retire`, { token: engineer, body: { reason: 'demo over' } });
    expect(retired.status).toBe(202);
    const childResult: LifecycleResult = await client.workflow.getHandle(childWorkflowId).result();
    expect(childResult).toMatchObject({ endedBy: 'retired', reason: 'demo over' });
  });

  it('answers 404 for an approval of an unknown model, 400 for a malformed id, 401 without a token', async () => {
    const unknown = await api.call('POST', '/models/no-such-model@9.9.9/approvals', {
      token: approver,
      body: { decision: 'approve' },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('model_not_found');

    const malformed = await api.call('POST', '/models/not-a-version/approvals', { token: approver, body: { decision: 'approve' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.issues[0].field).toBe('params.id');

    const anonymous = await api.call('POST', `/models/${manifest.name}@1.0.0/approvals`, { body: { decision: 'approve' } });
    expect(anonymous.status).toBe(401);
  });
});
