import type { Principal } from '../../../core/principal.js';
import { decision, people, type Lifecycle, type LifecycleStack } from './lifecycle-stack.js';

/** Shared by the monitor-loop and retraining tests: an engineer, observed windows, a live sample. */
export const fred: Principal = { id: 'fred', roles: ['engineer'], teams: ['credit-risk'] };

let windows = 0;
/** An observed window with a fresh id; override any field. */
export const window = (overrides: object = {}) => ({
  id: `window-${windows++}`,
  windowStart: '2026-01-01T00:00:00.000Z',
  windowEnd: '2026-01-01T01:00:00.000Z',
  requests: 1000,
  errors: 10,
  kpis: { approvalRate: 0.5 },
  reportedBy: 'gateway',
  ...overrides,
});

export const sample = { uri: 's3://lake/credit/live-2026-01-01.csv', sha256: 'b'.repeat(64) };

/** Starts a lifecycle and walks it into its monitor loop, approving on the way if its template asks. */
export async function monitoring(s: LifecycleStack, input: Parameters<LifecycleStack['start']>[0]): Promise<Lifecycle> {
  const lifecycle = await s.start(input);
  const needsApproval = await Promise.race([
    s.fakes.transition(lifecycle.workflowId, 'approval:entered').then(() => true),
    s.fakes.transition(lifecycle.workflowId, 'monitor:passed').then(() => false),
  ]);
  if (needsApproval) await s.attempt(lifecycle, decision(people.ana));
  await s.fakes.transition(lifecycle.workflowId, 'monitor:passed');
  await s.settled(lifecycle);
  return lifecycle;
}
