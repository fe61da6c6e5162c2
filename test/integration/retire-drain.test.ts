import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../api/tokens.js';
import { lifecycleRunHistories } from '../../audit/run-histories.js';
import type { EndDeploymentInput } from '../../core/deployment.js';
import { lifecycleWorkflowId } from '../../core/model-id.js';
import { defaultPolicy, type LifecyclePolicy } from '../../core/policy.js';
import { routingDrainMs } from '../../core/routing-drain.js';
import type { InferenceRequest } from '../../runtimes/protocol.js';
import { runtimeModelName } from '../../runtimes/runtime.js';
import { retireSignal, statusQuery } from '../../workflows/messages.js';
import {
  connectTestClient,
  createTestDatabase,
  eventually,
  startTestApi,
  startTestWorker,
  terminateRunning,
  uniqueTaskQueue,
  type RunningWorker,
  type TestApi,
  type TestDatabase,
} from '../harness/index.js';
import { sampleManifest } from '../harness/manifests.js';
import { sharedTestRuntime } from '../harness/runtimes.js';

/**
 * Retirement drains before it unloads. The scoring gateway routes from a table it reads from the catalog once
 * per TTL, so after a champion's row ends a gateway may still send it requests for a while. A lifecycle
 * replaced by its retrained successor under live traffic ends its row, waits out the gateways' drain on a
 * durable timer and only then unloads: not one request fails across the switch. The same switch on a worker
 * that does not wait (drain 0) fails requests routed from the stale table to the unloaded version, which is
 * what the drain prevents. Retired lifecycles leave no pending timer in any run's history.
 *
 * The switch is made deterministic for the cache: traffic pauses until the gateway's table is older than twice
 * its TTL, one request makes it read the catalog afresh, and the successor is approved at once, so its deploy
 * and the parent's end fall well inside the next TTL, while the gateway still routes from the fresh table.
 */
const ROUTES_TTL_MS = 5_000;
const policy: LifecyclePolicy = { ...defaultPolicy, monitor: { intervalMs: 60 * 60 * 1000, cyclesPerRun: 100 } };
const request: InferenceRequest = {
  inputs: [
    { name: 'income', shape: [2], datatype: 'FP64', data: [42_000, 85_000] },
    { name: 'debt_to_income', shape: [2], datatype: 'FP64', data: [0.31, 0.12] },
  ],
};

interface Answer {
  readonly status: number;
  readonly version: string | null;
  readonly at: number;
}

type History = temporal.api.history.v1.IHistory;

/** Timers a history started that neither fired nor were cancelled. */
function pendingTimers(history: History): string[] {
  const events = history.events ?? [];
  const settled = new Set(events.flatMap((e) => [e.timerFiredEventAttributes?.timerId, e.timerCanceledEventAttributes?.timerId]).filter(Boolean));
  return events.flatMap((e) => (e.timerStartedEventAttributes && !settled.has(e.timerStartedEventAttributes.timerId) ? [e.timerStartedEventAttributes.timerId!] : []));
}

/** The retirement's commands in order: each endDeployment (with keepLoaded) and each timer with its duration. */
function retirementSteps(history: History): string[] {
  return (history.events ?? []).flatMap((e) => {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === 'endDeployment') {
      const input = defaultPayloadConverter.fromPayload<EndDeploymentInput>(scheduled.input!.payloads![0]!);
      return [input.keepLoaded ? 'end row, keep loaded' : 'end row and unload'];
    }
    if (e.timerStartedEventAttributes) return [`timer ${Number(e.timerStartedEventAttributes.startToFireTimeout?.seconds ?? 0)}s`];
    if (e.timerFiredEventAttributes) return ['timer fired'];
    return [];
  });
}

describe('retirement drains the gateways before it unloads', () => {
  let database: TestDatabase;
  let client: Client;
  const lanes: { queue: string; worker: RunningWorker; api: TestApi }[] = [];
  let engineer: string;
  let approver: string;
  let scorer: string;

  /** A worker and an API (with its gateway on the shared built-in runtime) on a task queue of their own. */
  async function lane(name: string, drainMs: number) {
    const queue = uniqueTaskQueue(name);
    const { runtimes } = await sharedTestRuntime();
    const worker = await startTestWorker({ database, taskQueue: queue, routingDrainMs: drainMs });
    const api = await startTestApi({
      client,
      database,
      taskQueue: queue,
      policy,
      gateway: { windowMs: 600_000, routesTtlMs: ROUTES_TTL_MS, runtimeFor: (t) => (t === 'default' ? runtimes.forTarget('default') : undefined) },
    });
    const l = { queue, worker, api };
    lanes.push(l);
    return l;
  }

  beforeAll(async () => {
    [database, client] = await Promise.all([createTestDatabase(), connectTestClient()]);
    engineer = await createApiToken(database.db, 'erin', ['engineer']);
    approver = await createApiToken(database.db, 'ava', ['approver:risk']);
    scorer = await createApiToken(database.db, 'scoring-service', ['scorer']);
  });

  afterAll(async () => {
    for (const l of lanes) {
      await terminateRunning(client, l.queue).catch(() => undefined);
      await l.api.close();
      await l.worker.stop();
    }
    await client?.connection.close();
    await database?.drop();
  });

  const stageOf = async (workflowId: string) => (await client.workflow.getHandle(workflowId).query(statusQuery)).stage;
  const inStage = (workflowId: string, stage: string) =>
    eventually(`${workflowId} in ${stage}`, async () => ((await stageOf(workflowId).catch(() => null)) === stage ? true : undefined), { timeoutMs: 120_000, intervalMs: 100 });

  async function infer(api: TestApi, model: string): Promise<Answer> {
    const res = await fetch(`${api.baseUrl}/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${scorer}` },
      body: JSON.stringify(request),
    });
    const body = (await res.json().catch(() => null)) as { model_version?: string } | null;
    return { status: res.status, version: body?.model_version ?? null, at: Date.now() };
  }

  /**
   * A champion replaced by its retrained successor while two callers score without pause; returns every answer
   * and the parent's workflow id once the parent has retired (and, with a drain, traffic went on past it).
   */
  async function replaceUnderTraffic(l: { api: TestApi }, name: string) {
    const { api } = l;
    const manifest = await sampleManifest({ name });
    const parentId = `${manifest.name}@1.0.0`;
    const childId = `${manifest.name}@1.1.0`;
    const parentWf = lifecycleWorkflowId({ name: manifest.name, version: '1.0.0' });
    const childWf = lifecycleWorkflowId({ name: manifest.name, version: '1.1.0' });
    expect((await api.call('POST', '/models', { token: engineer, body: manifest })).status).toBe(201);
    await inStage(parentWf, 'approval');
    expect((await api.call('POST', `/models/${parentId}/approvals`, { token: approver, body: { decision: 'approve', comment: 'champion' } })).status).toBe(200);
    await inStage(parentWf, 'monitor');
    expect((await infer(api, manifest.name)).status).toBe(200);
    expect((await api.call('POST', `/models/${parentId}/retrain`, { token: engineer, body: { reason: 'new quarter' } })).status).toBe(202);
    await inStage(childWf, 'approval');

    // Let the gateway's table age past twice its TTL, so the next request reads the catalog afresh (this pause
    // is about the cache's clock: there is nothing to await).
    await new Promise((r) => setTimeout(r, 2 * ROUTES_TTL_MS + 500));
    const answers: Answer[] = [await infer(api, manifest.name)];
    expect(answers[0]).toMatchObject({ status: 200, version: '1.0.0' });
    const switchStartedAt = Date.now();
    expect((await api.call('POST', `/models/${childId}/approvals`, { token: approver, body: { decision: 'approve', comment: 'challenger' } })).status).toBe(200);

    let running = true;
    const caller = async () => {
      while (running) answers.push(await infer(api, manifest.name));
    };
    const callers = [caller(), caller()];
    const result = await client.workflow.getHandle(parentWf).result();
    // Past the parent's unload for one more TTL: a stale table would still show here.
    const unloadedAt = Date.now();
    await eventually('traffic past the unload', async () => (Date.now() - unloadedAt > ROUTES_TTL_MS ? true : undefined), { timeoutMs: 2 * ROUTES_TTL_MS, intervalMs: 100 });
    running = false;
    await Promise.all(callers);
    return { answers, result, parentId, childId, parentWf, childWf, switchStartedAt };
  }

  it('a champion replaced under live traffic drains before it unloads: no request fails, and no timer is left pending', async () => {
    const drainMs = routingDrainMs(ROUTES_TTL_MS);
    const l = await lane('drain', drainMs);
    const { answers, result, parentId, childWf, parentWf } = await replaceUnderTraffic(l, 'drained');
    expect(result).toMatchObject({ endedBy: 'superseded' });
    const failed = answers.filter((a) => a.status !== 200);
    expect(failed, `${failed.length} of ${answers.length} requests failed: ${JSON.stringify(failed.slice(0, 3))}`).toEqual([]);
    // Both versions answered: the switch happened under the traffic.
    expect(new Set(answers.map((a) => a.version))).toEqual(new Set(['1.0.0', '1.1.0']));
    expect(await (await sharedTestRuntime()).runtimes.forTarget('default').ready(runtimeModelName(parentId)).catch(() => false)).toBe(false);

    // The parent's history: the row ended with the version loaded, the drain timer fired, then the unload.
    const parentRuns = await lifecycleRunHistories(client, parentWf);
    const last = parentRuns.at(-1)!.history;
    expect(retirementSteps(last).slice(-4)).toEqual(['end row, keep loaded', `timer ${drainMs / 1000}s`, 'timer fired', 'end row and unload']);
    for (const run of parentRuns) expect(pendingTimers(run.history)).toEqual([]);

    // Retired on request, the successor drains too and leaves no pending timer either.
    await client.workflow.getHandle(childWf).signal(retireSignal, { requestedBy: { id: 'erin', roles: ['engineer'] }, reason: 'test over' });
    expect(await client.workflow.getHandle(childWf).result()).toMatchObject({ endedBy: 'retired' });
    const childRuns = await lifecycleRunHistories(client, childWf);
    expect(retirementSteps(childRuns.at(-1)!.history).slice(-4)).toEqual(['end row, keep loaded', `timer ${drainMs / 1000}s`, 'timer fired', 'end row and unload']);
    for (const run of childRuns) expect(pendingTimers(run.history)).toEqual([]);
  }, 300_000);

  it('without the wait (a worker whose drain is 0) the same switch fails requests routed to the unloaded champion', async () => {
    const l = await lane('no-drain', 0);
    const { answers, result, parentWf } = await replaceUnderTraffic(l, 'undrained');
    expect(result).toMatchObject({ endedBy: 'superseded' });
    const failed = answers.filter((a) => a.status !== 200);
    expect(failed.length, `every one of ${answers.length} requests answered`).toBeGreaterThan(0);
    // No timer: the row ended and the version was unloaded at once.
    const steps = retirementSteps((await lifecycleRunHistories(client, parentWf)).at(-1)!.history);
    expect(steps.slice(-2)).toEqual(['end row, keep loaded', 'end row and unload']);
  }, 300_000);
});
