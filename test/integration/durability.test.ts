import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lifecycles } from '../../api/lifecycles.js';
import { deploymentActivities } from '../../activities/deployment.js';
import { projection } from '../../catalog/projection.js';
import type { Deployment } from '../../core/deployment.js';
import { manifestSchema } from '../../core/manifest.js';
import { defaultPolicy } from '../../core/policy.js';
import type { Principal } from '../../core/principal.js';
import { approvalSignal, statusQuery } from '../../workflows/messages.js';
import { sampleManifest } from '../harness/manifests.js';
import { sharedTestRuntime } from '../harness/runtimes.js';
import { runtimeModelName } from '../../runtimes/runtime.js';
import { signalsIn } from '../harness/history.js';
import {
  connectTestClient,
  createTestDatabase,
  eventually,
  startTestWorker,
  uniqueTaskQueue,
  type TestDatabase,
} from '../harness/index.js';

const erin: Principal = { id: 'erin', roles: ['engineer'] };
const ava: Principal = { id: 'ava', roles: ['approver:risk'] };

describe('durability and idempotency', () => {
  let client: Client;
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
    client = await connectTestClient();
  });

  afterAll(async () => {
    await client?.connection.close();
    await database?.drop();
  });

  const manifest = async (name: string) => manifestSchema.parse(await sampleManifest({ name }));

  it('keeps a lifecycle waiting for approval across a worker restart; a signal sent with no worker is kept', async () => {
    const taskQueue = uniqueTaskQueue('restart');
    const lifecycles = new Lifecycles(client, taskQueue, { ...defaultPolicy, monitor: { intervalMs: 60_000, cyclesPerRun: 10 } });
    const first = await startTestWorker({ database, taskQueue });
    const m = await manifest('restart');
    const { workflowId } = await lifecycles.register(m, erin);
    const handle = client.workflow.getHandle(workflowId);
    await eventually('the approval gate', async () => ((await handle.query(statusQuery)).stage === 'approval' ? true : undefined));

    await first.stop();
    await handle.signal(approvalSignal, { attemptId: 'while-down', decision: 'approve', comment: 'sent with no worker', principal: ava });

    const second = await startTestWorker({ database, taskQueue });
    try {
      const status = await eventually('monitoring after the restart', async () => {
        const s = await handle.query(statusQuery);
        return s.stage === 'monitor' ? s : undefined;
      });
      expect(status.approvals.map((a) => [a.request.attemptId, a.verdict.status])).toEqual([['while-down', 'accepted']]);
      const live = await database.db.selectFrom('deployments').selectAll().where('model_name', '=', m.name).execute();
      expect(live).toHaveLength(1);
    } finally {
      await handle.terminate('test over');
      await second.stop();
    }
  });

  it('counts a repeated approval attempt (same attempt id) once, though both signals are in history', async () => {
    const taskQueue = uniqueTaskQueue('dedupe');
    const worker = await startTestWorker({ database, taskQueue });
    try {
      const lifecycles = new Lifecycles(client, taskQueue, defaultPolicy);
      const m = await manifest('dedupe');
      const { workflowId } = await lifecycles.register(m, erin);
      const handle = client.workflow.getHandle(workflowId);
      await eventually('the approval gate', async () => ((await handle.query(statusQuery)).stage === 'approval' ? true : undefined));
      // The registrant's refused attempt, retried: recorded once.
      const attempt = { attemptId: 'retry-me', decision: 'approve' as const, comment: '', principal: erin };
      await Promise.all([handle.signal(approvalSignal, attempt), handle.signal(approvalSignal, attempt)]);
      await eventually('the attempt in the catalog', async () => {
        const rows = await database.db.selectFrom('approval_attempts').selectAll().where('workflow_id', '=', workflowId).execute();
        return rows.length > 0 ? rows : undefined;
      });
      const status = await handle.query(statusQuery);
      expect(status.approvals).toHaveLength(1);
      expect(status.approvals[0]!.verdict).toEqual({ status: 'refused', reason: 'separation-of-duties' });
      expect(signalsIn(await handle.fetchHistory(), 'approval')).toHaveLength(2);
      const rows = await database.db.selectFrom('approval_attempts').selectAll().where('workflow_id', '=', workflowId).execute();
      expect(rows).toHaveLength(1);
      await handle.terminate('test over');
    } finally {
      await worker.stop();
    }
  });

  it('deploys exactly once when the deploy activity is retried, even concurrently: one row, one model loaded', async () => {
    const { registerVersion } = projection(database.db);
    const runtime = await sharedTestRuntime();
    const activities = deploymentActivities(database.db, runtime.runtimes);
    const deployVersion = (input: Parameters<typeof activities.deployVersion>[0]): Promise<Deployment> => new MockActivityEnvironment().run(activities.deployVersion, input);
    const m = await manifest('deploy-retry');
    for (const version of ['1.0.0', '1.1.0']) {
      await registerVersion({
        workflowId: `wf-${version}`,
        modelVersionId: `${m.name}@${version}`,
        manifest: { ...m, version },
        registeredBy: erin,
        lineage: null,
        at: new Date().toISOString(),
      });
    }
    const deploy = (version: string, at: string) =>
      deployVersion({ deploymentId: `wf-${version}/deploy`, modelName: m.name, modelVersionId: `${m.name}@${version}`, target: 'default', at });

    const firstAt = '2026-01-01T00:00:00.000Z';
    const results = await Promise.all([deploy('1.0.0', firstAt), deploy('1.0.0', firstAt), deploy('1.0.0', firstAt)]);
    expect(new Set(results.map((r) => r.deploymentId)).size).toBe(1);
    await deploy('1.1.0', '2026-02-01T00:00:00.000Z');
    // A late retry of the first deploy must not resurrect it or end its successor.
    await deploy('1.0.0', firstAt);

    const rows = await database.db.selectFrom('deployments').selectAll().where('model_name', '=', m.name).orderBy('from_time').execute();
    expect(rows.map((r) => [r.model_version_id, r.to_time?.toISOString() ?? null])).toEqual([
      [`${m.name}@1.0.0`, '2026-02-01T00:00:00.000Z'],
      [`${m.name}@1.1.0`, null],
    ]);
    // The built-in runtime serves each version once, under its one name.
    const index = await runtime.runtimes.forTarget('default').index();
    expect(index.filter((e) => e.name.startsWith(`${m.name}-v`)).map((e) => [e.name, e.state])).toEqual([
      [runtimeModelName(`${m.name}@1.0.0`), 'READY'],
      [runtimeModelName(`${m.name}@1.1.0`), 'READY'],
    ]);
  });
});
