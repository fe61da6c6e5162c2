import { describe, expect, it } from 'vitest';
import { judgeWindow } from '../../workflows/monitor-judge.js';
import type { Observation } from '../../workflows/messages.js';

const window = (overrides: Partial<Observation> = {}): Observation => ({
  id: 'w1',
  windowStart: '2026-11-22T10:00:00Z',
  windowEnd: '2026-11-22T11:00:00Z',
  requests: 1000,
  errors: 2,
  kpis: { approvalRate: 0.5 },
  reportedBy: 'serving',
  ...overrides,
});
const policy = { kpis: { approvalRate: { min: 0.2, max: 0.8 }, manualReviewRate: { max: 0.15 } }, maxErrorRate: 0.01 };

describe('judging an observed window against the monitor policy', () => {
  it('passes a window within every bound, and lists KPIs it did not report without calling them breaches', () => {
    expect(judgeWindow(window(), policy)).toEqual({ errorRate: 0.002, breaches: [], missingKpis: ['manualReviewRate'] });
  });

  it('names each bound a window broke', () => {
    const verdict = judgeWindow(window({ errors: 34, kpis: { approvalRate: 0.91, manualReviewRate: 0.2 } }), policy);
    expect(verdict.breaches).toEqual(['error rate 0.034 > 0.01', 'approvalRate 0.91 > 0.8', 'manualReviewRate 0.2 > 0.15']);
    expect(judgeWindow(window({ kpis: { approvalRate: 0.1, manualReviewRate: 0 } }), policy).breaches).toEqual(['approvalRate 0.1 < 0.2']);
  });

  it('has no error rate for a window without requests, and no ceiling without a policy', () => {
    expect(judgeWindow(window({ requests: 0, errors: 0 }), policy)).toMatchObject({ errorRate: null, breaches: [] });
    expect(judgeWindow(window({ errors: 900 }), { kpis: {}, maxErrorRate: null })).toEqual({ errorRate: 0.9, breaches: [], missingKpis: [] });
  });
});
