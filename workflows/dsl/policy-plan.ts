import { withPolicyDefaults, type LifecyclePolicy } from '../../core/policy.js';
import type { LifecyclePlan } from './plan.js';

/**
 * The plan of a lifecycle started with a bare policy instead of a template: lifecycles recorded before
 * templates existed (their histories must keep replaying) and ad-hoc policies in development.
 */
export function planFromPolicy(recorded: LifecyclePolicy): LifecyclePlan {
  const policy = withPolicyDefaults(recorded);
  return {
    template: 'inline',
    gates: [
      { kind: 'test', name: 'test', bounds: { min: policy.test.minMetrics, max: {} } },
      { kind: 'scan', name: 'scan', blockAt: policy.scan.blockAt },
      { kind: 'approval', name: 'approval', policy: policy.approval },
    ],
    deploy: { phases: [] },
    monitor: { intervalMs: policy.monitor.intervalMs, cyclesPerRun: policy.monitor.cyclesPerRun, drift: null, kpis: {}, maxErrorRate: null },
    retrain: { versionBump: policy.retrain.versionBump, onDrift: false },
    retire: { maxLifetimeMs: null },
  };
}
