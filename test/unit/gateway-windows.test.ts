import { describe, expect, it } from 'vitest';
import type { Observation } from '../../core/observation.js';
import { summariseTensors } from '../../api/gateway/request-log.js';
import { WindowAggregator } from '../../api/gateway/window.js';
import { GatewayWindows } from '../../api/gateway/windows.js';
import type { Route } from '../../api/gateway/routing-table.js';
import { seededRandom } from '../../api/gateway/router.js';

const route = (deploymentId: string, strategy: Route['strategy'] = 'replace'): Route => ({
  deploymentId,
  modelVersionId: 'credit-scorer@1.0.0',
  version: '1.0.0',
  target: 'default',
  runtimeName: 'credit-scorer-v1.0.0',
  strategy,
  share: 1,
});

describe('a deployment window', () => {
  it('counts requests, errors and refusals, and reports latency percentiles within 1%', () => {
    const w = new WindowAggregator(0, 10);
    // 1..1000 ms: p50 = 500, p95 = 950, p99 = 990.
    for (let ms = 1; ms <= 1000; ms++) w.answered(ms);
    for (let i = 0; i < 7; i++) w.failed();
    w.refused();
    const closed = w.close(60_000);
    expect(closed).toMatchObject({ requests: 1008, errors: 7, rejected: 1, start: 0, end: 60_000 });
    expect(closed.latencyMs!.p50).toBeCloseTo(500, -1);
    expect(Math.abs(closed.latencyMs!.p95 - 950) / 950).toBeLessThan(0.01);
    expect(Math.abs(closed.latencyMs!.p99 - 990) / 990).toBeLessThan(0.01);
  });

  it('keeps sub-millisecond latencies to the microsecond', () => {
    const w = new WindowAggregator(0, 0);
    for (let i = 0; i < 100; i++) w.answered(0.25);
    expect(w.close(1).latencyMs).toEqual({ p50: 0.25, p95: 0.25, p99: 0.25 });
  });

  it('keeps a bounded sample in which every request is equally likely (reservoir)', () => {
    const counts = new Array<number>(100).fill(0);
    const random = seededRandom(3);
    for (let run = 0; run < 2000; run++) {
      const w = new WindowAggregator(0, 10, random);
      for (let i = 0; i < 100; i++) w.answered(1, () => ({ requestId: String(i), inputs: null, outputs: null }));
      const { sample } = w.close(1);
      expect(sample).toHaveLength(10);
      for (const s of sample) counts[Number(s.requestId)]! += 1;
    }
    // Each request is in the sample with probability 0.1: 200 of 2000 runs, give or take.
    for (const c of counts) {
      expect(c).toBeGreaterThan(140);
      expect(c).toBeLessThan(260);
    }
  });

  it('reports shadow agreement and the champion\'s p50 beside it', () => {
    const w = new WindowAggregator(0, 0);
    for (let i = 0; i < 10; i++) {
      w.answered(4);
      w.shadowCompared(i < 9, 2);
    }
    const { shadow } = w.close(1);
    expect(shadow).toMatchObject({ compared: 10, agreed: 9 });
    expect(shadow!.championP50Ms).toBeCloseTo(2, 2);
  });
});

describe('the gateway windows', () => {
  const harness = (options: { maxRequests?: number; fail?: number } = {}) => {
    let clock = 1_000_000;
    const sent: { modelVersionId: string; observation: Observation }[] = [];
    let failures = options.fail ?? 0;
    const logs: string[] = [];
    const windows = new GatewayWindows({
      windowMs: 60_000,
      maxRequests: options.maxRequests ?? 1_000_000,
      now: () => clock,
      send: async (modelVersionId, observation) => {
        if (failures > 0) {
          failures -= 1;
          throw new Error('Temporal unavailable');
        }
        sent.push({ modelVersionId, observation });
        return 'sent';
      },
      log: (_level, message) => logs.push(message),
    });
    return { windows, sent, logs, advance: (ms: number) => (clock += ms), get now() { return clock; } };
  };

  it('sends each closed window as one observation with a deterministic id and the latency KPIs', async () => {
    const h = harness();
    const start = h.now;
    for (let i = 0; i < 50; i++) h.windows.answered(route('dep-1'), 10);
    h.windows.failed(route('dep-1'));
    h.windows.refused(route('dep-1'));
    expect(h.windows.currentWindowId(route('dep-1'))).toBe(`gw:dep-1:${new Date(start).toISOString()}`);
    h.advance(59_999);
    h.windows.closeDue();
    expect(h.sent).toHaveLength(0);
    h.advance(1);
    h.windows.closeDue();
    await h.windows.flush();
    expect(h.sent).toHaveLength(1);
    const { observation, modelVersionId } = h.sent[0]!;
    expect(modelVersionId).toBe('credit-scorer@1.0.0');
    expect(observation).toMatchObject({
      id: `gw:dep-1:${new Date(start).toISOString()}`,
      windowStart: new Date(start).toISOString(),
      windowEnd: new Date(start + 60_000).toISOString(),
      requests: 52,
      errors: 1,
      reportedBy: 'gateway',
      kpis: { rejected_requests: 1 },
    });
    // HDR percentiles: the recorded 10 ms to within 0.1%.
    for (const p of ['p50', 'p95', 'p99'] as const) {
      expect(observation.latencyMs![p]).toBeCloseTo(10, 1);
      expect(observation.kpis[`latency_${p}_ms`]).toBe(observation.latencyMs![p]);
    }
    expect(observation.shadow).toBeUndefined();
  });

  it('sends no empty window, and one window per deployment', async () => {
    const h = harness();
    h.windows.answered(route('a'), 1);
    h.windows.answered(route('b', 'shadow'), 1);
    h.windows.shadowCompared(route('b', 'shadow'), false, 1);
    h.advance(60_000);
    h.windows.closeDue();
    h.advance(60_000);
    h.windows.closeDue();
    await h.windows.flush();
    expect(h.sent.map((s) => s.observation.id.split(':')[1])).toEqual(['a', 'b']);
    expect(h.sent[1]!.observation).toMatchObject({ kpis: { shadow_agreement: 0 }, shadow: { compared: 1, agreed: 0 } });
  });

  it('closes a window early at the request limit', async () => {
    const h = harness({ maxRequests: 100 });
    for (let i = 0; i < 250; i++) h.windows.answered(route('a'), 1);
    await h.windows.flush();
    expect(h.sent.map((s) => s.observation.requests)).toEqual([100, 100, 50]);
  });

  it('keeps a window that could not be sent and sends it, with the same id, at the next close', async () => {
    const h = harness({ fail: 1 });
    h.windows.answered(route('a'), 1);
    h.advance(60_000);
    h.windows.closeDue();
    await h.windows.idle();
    expect(h.sent).toHaveLength(0);
    expect(h.windows.waiting).toBe(1);
    expect(h.logs).toContain('gateway window not sent; it is retried at the next close');
    const id = `gw:a:${new Date(h.now - 60_000).toISOString()}`;
    h.windows.answered(route('a'), 1);
    h.advance(60_000);
    h.windows.closeDue();
    await h.windows.idle();
    expect(h.sent.map((s) => s.observation.id)).toEqual([id, `gw:a:${new Date(h.now - 60_000).toISOString()}`]);
    expect(h.windows.waiting).toBe(0);
  });

  it('flushes open windows at shutdown', async () => {
    const h = harness();
    h.windows.answered(route('a'), 1);
    h.advance(5);
    await h.windows.stop();
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]!.observation.requests).toBe(1);
  });
});

describe('summarising tensors for the request log', () => {
  it('keeps the name, shape, datatype and the first 16 values, flat or nested, and says how many there were', () => {
    const nested = Array.from({ length: 10 }, (_, i) => [i, i + 0.5]);
    expect(summariseTensors([{ name: 'p', shape: [10, 2], datatype: 'FP64', data: nested }])).toEqual([
      { name: 'p', shape: [10, 2], datatype: 'FP64', data: nested.flat().slice(0, 16), truncated: 20 },
    ]);
    expect(summariseTensors([{ name: 'l', shape: [2], datatype: 'INT64', data: [1, 0] }])).toEqual([{ name: 'l', shape: [2], datatype: 'INT64', data: [1, 0] }]);
  });
});
