import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../api/tokens.js';
import { manifestSchema, type ModelManifest } from '../../core/manifest.js';
import type { Principal } from '../../core/principal.js';
import { statusQuery } from '../../workflows/messages.js';
import { liveTemplates } from '../fixtures/workflows/live-monitoring.js';
import { creditInferBody, creditRows, writeCsv } from '../harness/datasets.js';
import { eventually, startBundledLifecycles, startTestApi, type BundledLifecycles, type TestApi } from '../harness/index.js';
import { SAMPLE_MODEL, sampleManifest } from '../harness/manifests.js';
import { sharedTestRuntime } from '../harness/runtimes.js';

/**
 * Live monitoring end to end on the real dev server: scoring traffic through the gateway to the built-in runtime,
 * windows closed every ten requests and judged by real lifecycles (feature and prediction drift against a real
 * reference file on the compute worker), the template's alert policy, and ground-truth labels sent late.
 */
const WINDOW_REQUESTS = 10;
const ROWS_PER_REQUEST = 4;
const erin: Principal = { id: 'erin', roles: ['engineer'] };
const probability = (income: number, dti: number) => 1 / (1 + Math.exp(-(SAMPLE_MODEL.intercept + SAMPLE_MODEL.coefficients[0] * income + SAMPLE_MODEL.coefficients[1] * dti)));

describe('live monitoring through the gateway', () => {
  let stack: BundledLifecycles;
  let api: TestApi;
  let scorer: string;
  let auditor: string;
  let drifted: ModelManifest;
  let stable: ModelManifest;
  const id = (m: ModelManifest) => `${m.name}@${m.version}`;

  const transitions = (m: ModelManifest) =>
    stack.database.db.selectFrom('stage_transitions').selectAll().where('model_version_id', '=', id(m)).orderBy('seq').execute();
  const steps = async (m: ModelManifest, step: string) => (await transitions(m)).filter((t) => t.step === step);

  /** Ten requests of four rows each: exactly one gateway window; returns the request ids and their rows. */
  async function scoreWindow(m: ModelManifest, seed: number, incomeShift: number, tag: string) {
    const rows = creditRows({ rows: WINDOW_REQUESTS * ROWS_PER_REQUEST, seed, incomeShift });
    const sent: { requestId: string; rows: typeof rows }[] = [];
    for (let i = 0; i < WINDOW_REQUESTS; i++) {
      const batch = rows.slice(i * ROWS_PER_REQUEST, (i + 1) * ROWS_PER_REQUEST);
      const requestId = `${tag}-${i}`;
      const res = await api.call('POST', `/v2/models/${m.name}/infer`, {
        token: scorer,
        body: creditInferBody(requestId, batch),
      });
      expect(res.status).toBe(200);
      sent.push({ requestId, rows: batch });
    }
    return sent;
  }

  beforeAll(async () => {
    stack = await startBundledLifecycles('live-monitoring', 'live-monitoring.ts', liveTemplates);
    const runtime = await sharedTestRuntime();
    // The reference: the model's inputs and its evaluation predictions beside them (400 rows: KS, as Evidently picks).
    const reference = await writeCsv(
      'reference.csv',
      creditRows({ rows: 400, seed: 1 }).map((r) => ({ income: r.income, debt_to_income: r.debt_to_income, probability: probability(r.income, r.debt_to_income) })),
    );
    const register = async (name: string) => {
      const m = manifestSchema.parse(
        await sampleManifest({
          name,
          template: 'live',
          framework: 'json-linear',
          riskTier: 'medium',
          deploymentTarget: 'default',
          inputSchema: [
            { name: 'income', type: 'number' },
            { name: 'debt_to_income', type: 'number' },
          ],
          protectedAttributes: [],
          referenceDataset: reference,
        }),
      );
      const { workflowId } = await stack.lifecycles.register(m, erin);
      const handle = stack.client.workflow.getHandle(workflowId);
      await eventually(`${name} monitored`, async () => ((await handle.query(statusQuery)).stage === 'monitor' ? true : undefined), { timeoutMs: 60_000 });
      return m;
    };
    [drifted, stable] = [await register('live-drifted'), await register('live-stable')];
    api = await startTestApi({
      client: stack.client,
      database: stack.database,
      taskQueue: 'live-monitoring-unused',
      gateway: { windowMs: 600_000, maxWindowRequests: WINDOW_REQUESTS, runtimeFor: (t) => (t === 'default' ? runtime.runtimes.forTarget('default') : undefined), routesTtlMs: 200 },
    });
    scorer = await createApiToken(stack.database.db, 'scoring-service', ['scorer']);
    auditor = await createApiToken(stack.database.db, 'audrey', ['auditor']);
  }, 180_000);

  afterAll(async () => {
    await api?.close();
    await stack?.stop();
  });

  it('drifted traffic: two drifted windows in a row raise a critical alert (an event and a webhook-ready record) and, under the policy, a retrain', async () => {
    await scoreWindow(drifted, 11, 3, 'd1');
    await scoreWindow(drifted, 12, 3, 'd2');
    const alerts = await eventually('the alert', async () => ((await steps(drifted, 'alert')).length > 0 ? steps(drifted, 'alert') : undefined), { timeoutMs: 120_000 });
    expect(alerts[0]).toMatchObject({ stage: 'monitor', outcome: 'raised', detail: { severity: 'critical', streak: 2, retrain: true } });
    expect((alerts[0]!.detail as { kinds: string[] }).kinds).toContain('drift');
    const drift = await steps(drifted, 'drift');
    expect(drift.map((t) => t.outcome)).toEqual(['drifted', 'drifted']);
    expect(drift[0]!.detail).toMatchObject({ sample: { uri: expect.stringMatching(/^gateway-window:gw:/) }, driftedColumns: expect.arrayContaining(['income']), currentRows: 40, referenceRows: 400 });
    // The model's outputs moved with its inputs: prediction drift against the reference's evaluation predictions.
    expect((await steps(drifted, 'prediction-drift')).map((t) => t.outcome)).toEqual(['drifted', 'drifted']);
    const event = await eventually('the monitor.alert event', async () =>
      (await stack.database.db.selectFrom('events').selectAll().where('type', '=', 'monitor.alert').where('model_version_id', '=', id(drifted)).executeTakeFirst()) ?? undefined,
    );
    expect(event.data).toMatchObject({ severity: 'critical', retrain: true });
    await eventually('the retrain', async () => ((await transitions(drifted)).some((t) => t.stage === 'retrain') ? true : undefined), { timeoutMs: 120_000 });
    const retrain = (await transitions(drifted)).find((t) => t.stage === 'retrain')!;
    expect(retrain.detail).toMatchObject({ reason: expect.stringMatching(/^critical alert: 2 breaching windows in a row/) });
  });

  it('stable traffic: windows from the reference distribution pass and trigger nothing', async () => {
    await scoreWindow(stable, 21, 0, 's1');
    await scoreWindow(stable, 22, 0, 's2');
    await scoreWindow(stable, 23, 0, 's3');
    const drift = await eventually('three drift verdicts', async () => {
      const found = await steps(stable, 'prediction-drift');
      return found.length >= 3 ? steps(stable, 'drift') : undefined;
    }, { timeoutMs: 120_000 });
    expect(drift.map((t) => t.outcome)).toEqual(['passed', 'passed', 'passed']);
    expect((await steps(stable, 'prediction-drift')).map((t) => t.outcome)).toEqual(['passed', 'passed', 'passed']);
    expect((await steps(stable, 'observation')).map((t) => t.outcome)).toEqual(['passed', 'passed', 'passed']);
    const all = await transitions(stable);
    expect(all.filter((t) => t.step === 'alert' || t.stage === 'retrain')).toEqual([]);

    // The per-window report: the observation, its verdicts, and the drift report column by column.
    const windows = await api.call('GET', `/models/${id(stable)}/windows`, { token: auditor });
    expect(windows.status).toBe(200);
    expect(windows.body.windows).toHaveLength(3);
    expect(windows.body.windows[0]).toMatchObject({ requests: WINDOW_REQUESTS, errors: 0, drift: { outcome: 'passed' }, predictionDrift: { outcome: 'passed' }, alerts: [] });
    const one = await api.call('GET', `/models/${id(stable)}/windows/${encodeURIComponent(windows.body.windows[0].id)}`, { token: auditor });
    expect(one.status).toBe(200);
    expect(one.body.driftReport.columns.map((c: { column: string }) => c.column).sort()).toEqual(['debt_to_income', 'income']);
    expect(one.body.verdicts.map((v: { step: string }) => v.step)).toEqual(['observation', 'drift', 'prediction-drift']);
  });

  it('labels joined by request id give a window its performance; late labels update it and the record says what changed', async () => {
    const sent = await scoreWindow(stable, 31, 0, 'l1');
    const window = await eventually('the window logged', async () =>
      (await stack.database.db.selectFrom('gateway_requests').select('window_id').where('request_id', '=', 'l1-9').where('model_version_id', '=', id(stable)).executeTakeFirst())?.window_id,
    );
    // The truth is what the model predicted for the first five requests: accuracy 1.
    const truth = (r: { income: number; debt_to_income: number }) => (probability(r.income, r.debt_to_income) >= 0.5 ? 1 : 0);
    const first = sent.slice(0, 5).map((s) => ({ requestId: s.requestId, label: s.rows.map(truth) }));
    const posted = await api.call('POST', `/models/${id(stable)}/labels`, { token: scorer, body: { labels: first } });
    expect(posted).toMatchObject({ status: 202, body: { received: 5, changed: 5, unmatchedCount: 0, windows: [window] } });
    const measured = await eventually('the performance', async () => ((await steps(stable, 'performance')).length ? steps(stable, 'performance') : undefined), { timeoutMs: 60_000 });
    expect(measured[0]).toMatchObject({ outcome: 'passed', detail: { window: { id: window }, labelled: 20, metrics: { accuracy: 1 } } });
    expect(measured[0]!.detail).not.toHaveProperty('late');

    // The same labels again change nothing and ask for nothing.
    expect((await api.call('POST', `/models/${id(stable)}/labels`, { token: scorer, body: { labels: first } })).body).toMatchObject({ changed: 0, unchanged: 5, windows: [] });

    // Late labels for the rest, every one wrong: the window's accuracy falls to 20 of 40, recorded as a late update.
    const late = sent.slice(5).map((s) => ({ requestId: s.requestId, label: s.rows.map((r) => 1 - truth(r)) }));
    expect((await api.call('POST', `/models/${id(stable)}/labels`, { token: scorer, body: { labels: late } })).body).toMatchObject({ changed: 5, windows: [window] });
    const updated = await eventually('the late update', async () => {
      const found = await steps(stable, 'performance');
      return found.length >= 2 ? found[1] : undefined;
    }, { timeoutMs: 60_000 });
    expect(updated).toMatchObject({
      outcome: 'breached',
      detail: { window: { id: window }, labelled: 40, metrics: { accuracy: 0.5 }, breaches: ['accuracy 0.5 < 0.8'], late: { labelledBefore: 20, changes: { accuracy: { from: 1, to: 0.5 } } } },
    });
    const report = await api.call('GET', `/models/${id(stable)}/windows/${encodeURIComponent(window)}`, { token: auditor });
    expect(report.body.performance).toMatchObject({ labelled: 40, metrics: { accuracy: 0.5 } });
  });

  it('refuses bad label batches with 400 naming the field, and unknown versions with 404, storing nothing', async () => {
    const bad = await api.call('POST', `/models/${id(stable)}/labels`, { token: scorer, body: { labels: [{ requestId: 'x', label: 'yes' }] } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/labels\.0\.label/);
    const twice = await api.call('POST', `/models/${id(stable)}/labels`, { token: scorer, body: { labels: [{ requestId: 'x', label: 1 }, { requestId: 'x', label: 0 }] } });
    expect(twice.status).toBe(400);
    expect(JSON.stringify(twice.body)).toMatch(/labels\.1\.requestId/);
    expect((await api.call('POST', `/models/${id(stable)}/labels`, { token: scorer, body: { labels: [] } })).status).toBe(400);
    expect((await api.call('POST', '/models/no-such-model@1.0.0/labels', { token: scorer, body: { labels: [{ requestId: 'x', label: 1 }] } })).status).toBe(404);
    expect((await api.call('POST', `/models/${id(stable)}/labels`, { token: auditor, body: { labels: [{ requestId: 'x', label: 1 }] } })).status).toBe(403);
    expect(await stack.database.db.selectFrom('request_labels').select('request_id').where('request_id', '=', 'x').execute()).toEqual([]);
  });
});
