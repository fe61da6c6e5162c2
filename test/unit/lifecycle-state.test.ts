import { describe, expect, it } from 'vitest';
import type { LifecycleCheckpoint } from '../../core/lifecycle.js';
import { LifecycleState } from '../../workflows/lifecycle/state.js';
import { WINDOW_IDS_REMEMBERED } from '../../workflows/lifecycle/stages/windows.js';

/** The lifecycle's state across continue-as-new: what a checkpoint carries and what an older one lacks. */
const deployment = { deploymentId: 'model-version:m@1.0.0/deploy', target: 'prod', since: '2026-01-01T00:00:00.000Z' };
const older: LifecycleCheckpoint = {
  seq: 12,
  approvalSeq: 2,
  run: 3,
  stage: 'monitor',
  monitorCycles: 40,
  deployment,
  approvals: [],
  successor: null,
  pendingRetrain: null,
  pendingRetire: null,
  superseded: null,
  pendingWindows: [{ id: 'w9', windowStart: 'a', windowEnd: 'b', requests: 1, errors: 0, kpis: {}, reportedBy: 'serving' }],
};

describe('lifecycle state across continue-as-new', () => {
  it('resumes a checkpoint recorded before window ids were carried, counting pending windows as seen', () => {
    const state = LifecycleState.fromCheckpoint(older);
    expect(state.run).toBe(4);
    expect(state.seq).toBe(12);
    expect([...state.monitor.seenWindowIds]).toEqual(['w9']);
    expect(state.checkpoint()).toEqual({ ...older, run: 4, recentWindowIds: ['w9'] });
  });

  it('carries the most recent window ids, bounded', () => {
    const ids = Array.from({ length: WINDOW_IDS_REMEMBERED + 5 }, (_, i) => `w${i}`);
    const state = LifecycleState.fromCheckpoint({ ...older, pendingWindows: [], recentWindowIds: ids.slice(0, WINDOW_IDS_REMEMBERED) });
    // As the observation handler does for each new window.
    for (const id of ids.slice(WINDOW_IDS_REMEMBERED)) {
      state.monitor.seenWindowIds.add(id);
      state.monitor.recentWindowIds.push(id);
    }
    const carried = state.checkpoint().recentWindowIds!;
    expect(carried).toHaveLength(WINDOW_IDS_REMEMBERED);
    expect(carried.at(-1)).toBe(`w${WINDOW_IDS_REMEMBERED + 4}`);
    const next = LifecycleState.fromCheckpoint(state.checkpoint());
    expect(next.monitor.seenWindowIds.has(`w${WINDOW_IDS_REMEMBERED + 4}`)).toBe(true);
    expect(next.monitor.seenWindowIds.has('w0')).toBe(false);
  });

  it('a new lifecycle starts at register with nothing seen', () => {
    const state = LifecycleState.fromCheckpoint(undefined);
    expect({ stage: state.stage, run: state.run, seq: state.seq, registered: state.registered }).toEqual({ stage: 'register', run: 1, seq: 0, registered: false });
  });
});
