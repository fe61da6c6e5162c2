// First: the SDK's Runtime with its Prometheus endpoint, before the harness would install a quiet one.
import { sdkMetricsAddress } from '../harness/sdk-metrics.js';
import { readFile } from 'node:fs/promises';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../api/server.js';
import { createApiToken } from '../../api/tokens.js';
import { defaultPolicy } from '../../core/policy.js';
import { lifecycleWorkflowId } from '../../core/model-id.js';
import { createTracing, type Tracing } from '../../platform/telemetry.js';
import { tracingClientInterceptors } from '../../platform/temporal.js';
import { createStewardWorker, type StewardWorker } from '../../workers/worker.js';
import { statusQuery } from '../../workflows/messages.js';
import { createTestDatabase, eventually, terminateRunning, uniqueTaskQueue, type TestDatabase } from '../harness/index.js';
import { sampleManifest } from '../harness/manifests.js';
import { testReadSettings } from '../harness/reading.js';

/**
 * The stack as `steward dev` wires it: API, client and worker share one tracer (spans kept in memory here)
 * and the API's /metrics appends the SDK's metrics served by this process's Runtime.
 */
describe('telemetry: one trace per lifecycle, and /metrics', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let database: TestDatabase;
  let client: Client;
  let nativeConnection: NativeConnection;
  let worker: StewardWorker;
  let running: Promise<void>;
  let app: FastifyInstance;
  let baseUrl: string;
  let engineer: string;
  let approver: string;
  let workflowId: string;
  const taskQueue = uniqueTaskQueue('telemetry');

  const scrape = async (token?: string) => {
    const res = await fetch(`${baseUrl}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };
  /** A sample's value from Prometheus text, by its exact series (name and labels as served). */
  const sample = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  beforeAll(async () => {
    tracing = createTracing({ serviceName: 'steward-test', spanProcessor: new SimpleSpanProcessor(exporter) });
    database = await createTestDatabase();
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection, namespace: 'default', interceptors: tracingClientInterceptors(tracing.tracer) });
    nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
    worker = await createStewardWorker({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue,
      db: database.db,
      evidence: database.evidence,
      workflowBundle: { code: await readFile(inject('workflowBundlePath'), 'utf8') },
      reading: testReadSettings(),
      tracing,
    });
    running = worker.run();
    app = await buildApi({
      client,
      db: database.db,
      evidence: database.evidence,
      taskQueue,
      policy: defaultPolicy,
      readPolicy: testReadSettings().policy,
      rateLimitPerMinute: 100_000,
      logger: false,
      tracer: tracing.tracer,
      metrics: { sdkAddress: sdkMetricsAddress },
    });
    baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    engineer = await createApiToken(database.db, 'erin', ['engineer']);
    approver = await createApiToken(database.db, 'ava', ['approver:risk']);

    // One lifecycle through the API: registered, tested, scanned, then rejected at its approval gate.
    const manifest = await sampleManifest();
    const res = await fetch(`${baseUrl}/models`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${engineer}` },
      body: JSON.stringify(manifest),
    });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    workflowId = lifecycleWorkflowId({ name: manifest.name, version: '1.0.0' });
    const handle = client.workflow.getHandle(workflowId);
    await eventually('the approval gate', async () => ((await handle.query(statusQuery)).gate ? true : undefined));
    const decided = await fetch(`${baseUrl}/models/${manifest.name}@1.0.0/approvals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${approver}` },
      body: JSON.stringify({ decision: 'reject', comment: 'telemetry test' }),
    });
    expect(decided.status, await decided.clone().text()).toBe(200);
    expect(await handle.result()).toMatchObject({ endedBy: 'rejected' });
  });

  afterAll(async () => {
    await terminateRunning(client, taskQueue).catch(() => undefined);
    await app?.close();
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running;
    await nativeConnection?.close();
    await client?.connection.close();
    await tracing?.shutdown();
    await database?.drop();
  });

  it('puts the API request, the workflow start, the workflow and its activities in one trace', async () => {
    const spans = await eventually('the recordStage activity span', async () => {
      const all = exporter.getFinishedSpans();
      return all.some((s) => s.name === 'RunActivity:recordStage') ? all : undefined;
    });
    const request = spans.find((s) => s.name === 'POST /models');
    expect(request, spans.map((s) => s.name).join(', ')).toBeDefined();
    const traceId = request!.spanContext().traceId;
    const inTrace = spans.filter((s) => s.spanContext().traceId === traceId);
    const names = new Set(inTrace.map((s) => s.name));
    for (const name of ['POST /models', 'StartWorkflow:modelLifecycle', 'RunWorkflow:modelLifecycle', 'StartActivity:registerVersion', 'RunActivity:registerVersion', 'RunActivity:recordStage']) {
      expect(names, `${name} in trace ${traceId}: ${[...names].join(', ')}`).toContain(name);
    }
    // Parentage, not only the trace id: the request is the root, the client's start span its child.
    const byId = new Map(inTrace.map((s) => [s.spanContext().spanId, s]));
    const parentName = (s: ReadableSpan) => (s.parentSpanId ? byId.get(s.parentSpanId)?.name : undefined);
    expect(request!.parentSpanId).toBeUndefined();
    expect(parentName(inTrace.find((s) => s.name === 'StartWorkflow:modelLifecycle')!)).toBe('POST /models');
    expect(parentName(inTrace.find((s) => s.name === 'RunActivity:registerVersion')!)).toBe('StartActivity:registerVersion');
    expect(request!.attributes['http.response.status_code']).toBeLessThan(300);
  });

  it('serves Steward metrics from the catalog and the SDK metrics of this process at /metrics, to a signed-in caller', async () => {
    expect((await scrape()).status).toBe(401);
    const { status, type, text } = await scrape(approver);
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain/);
    // The lifecycle ended at its approval gate: retired, with the gates it passed and the rejection counted.
    expect(sample(text, 'steward_lifecycles{stage="retire"}')).toBe(1);
    expect(sample(text, 'steward_lifecycles{stage="approval"}')).toBe(0);
    const gateLines = text.split('\n').filter((l) => l.startsWith('steward_gate_outcomes_total{'));
    expect(gateLines.some((l) => /stage="test".*outcome="passed"\} [1-9]/.test(l)), gateLines.join('\n')).toBe(true);
    expect(gateLines.some((l) => /stage="scan".*outcome="passed"\} [1-9]/.test(l)), gateLines.join('\n')).toBe(true);
    expect(gateLines.some((l) => /stage="approval".*outcome="rejected"\} 1$/.test(l)), gateLines.join('\n')).toBe(true);
    expect(sample(text, 'steward_approval_wait_seconds_count{outcome="rejected"}')).toBe(1);
    const waited = sample(text, 'steward_approval_wait_seconds_sum{outcome="rejected"}')!;
    expect(waited).toBeGreaterThan(0);
    expect(waited).toBeLessThan(120);
    expect(text).toContain('# TYPE steward_window_verdicts_total counter');
    // The SDK's own, from the Runtime's Prometheus endpoint in this process.
    expect(sample(text, 'steward_sdk_metrics_up')).toBe(1);
    expect(text).toMatch(/^temporal_workflow_task_execution_latency_bucket\{/m);
    expect(text).toMatch(/^temporal_activity_execution_latency_bucket\{.*activity_type="registerVersion"/m);
    // Every metric is described once, whichever text it came from.
    const types = text.split('\n').filter((l) => l.startsWith('# TYPE '));
    expect(new Set(types).size).toBe(types.length);
  });
});
