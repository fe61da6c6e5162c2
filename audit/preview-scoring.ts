import { measurementOfSummary, type EvaluatePolicy } from '../core/evaluation.js';
import { judgeEvaluation } from '../core/gates.js';
import type { ModelManifest } from '../core/manifest.js';
import type { StageTransition } from '../core/stages.js';
import type { MetricBounds } from '../workflows/dsl/plan.js';

/**
 * Policy preview of a test step that scores: the candidate's bounds, champion comparison, claim tolerance,
 * fairness and latency budget judged (by the gate's own judgeEvaluation) on the measurement the lifecycle
 * recorded. A preview never scores anything itself; without a recorded measurement it says so. null: the
 * step judges the declared metrics, as before.
 */
export function previewScoredTest(
  bounds: MetricBounds,
  policy: EvaluatePolicy,
  manifest: ModelManifest,
  transitions: readonly StageTransition[],
): { decision: 'pass' | 'fail' | 'no-evidence'; why: string } | null {
  if (!manifest.evaluation) {
    if (!policy.required) return null;
    return { decision: 'fail', why: 'the manifest names no evaluation dataset, and the candidate scores every version' };
  }
  const recorded = transitions.filter((t) => t.stage === 'test').map((t) => measurementOfSummary(t.report?.summary)).find((m) => m !== null);
  if (!recorded) return { decision: 'no-evidence', why: 'the lifecycle did not score the model; a preview judges recorded measurements only' };
  if (policy.latency && !recorded.latency) return { decision: 'no-evidence', why: 'the lifecycle measured no latency; the candidate has a latency budget' };
  const verdict = judgeEvaluation(recorded, manifest.metrics, bounds, policy);
  return verdict.passed
    ? { decision: 'pass', why: `every check passed on ${recorded.rows} scored rows` }
    : { decision: 'fail', why: verdict.failures.join('; ') };
}
