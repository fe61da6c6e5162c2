import type { Lineage } from './lifecycle.js';
import type { RetrainTrigger, TrainingRunner } from './training.js';

/**
 * What the catalog says about where a retrained version came from: its `retrained_from` edge. Built from the
 * child lifecycle's input lineage alone, so that the catalog and the history say the same, and `reconcile`
 * rebuilds the same edge from a recorded registration.
 */

/** A registration's lineage: what every recorded history carries (parent and reason), and what later ones add. */
export type RegisteredLineage = Pick<Lineage, 'parentModelVersionId' | 'reason'> & Partial<Pick<Lineage, 'parentWorkflowId' | 'trigger' | 'training'>>;

/** The `retrained_from` edge's detail. Null fields: the history did not record it (older versions, no runner). */
export interface RetrainedFromDetail {
  readonly reason: string;
  readonly parent: string;
  readonly parentWorkflowId: string | null;
  /** What started the retrain and a one-line summary of its evidence. */
  readonly trigger: { readonly kind: RetrainTrigger['kind']; readonly evidence: string } | null;
  readonly runner: TrainingRunner['kind'] | null;
  readonly runKey: string | null;
  /** URIs of the data the runner trained on; empty when the version reuses its parent's artifacts. */
  readonly trainingData: readonly string[];
  /** Digest of the training run's captured log in the evidence store (command runner). */
  readonly logDigest: string | null;
}

const listed = (items: readonly string[], at = 5) => `${items.slice(0, at).join(', ')}${items.length > at ? ', …' : ''}`;

/** One line of evidence for a trigger, as people read it on a version page. */
export function triggerEvidence(trigger: RetrainTrigger, requestedBy: string): string {
  switch (trigger.kind) {
    case 'manual':
      return `requested by ${requestedBy}`;
    case 'drift':
      return `window ${trigger.window}: ${trigger.driftedColumns.length} column${trigger.driftedColumns.length === 1 ? '' : 's'} drifted (${listed(trigger.driftedColumns)})`;
    case 'alert':
      return `${trigger.severity} alert${trigger.window ? ` on window ${trigger.window}` : ''}: ${listed(trigger.breaches, 3)}`;
    case 'schedule':
      return `scheduled every ${Math.round((trigger.everyMs / 86_400_000) * 100) / 100} days, due ${trigger.due}`;
  }
}

/** The edge detail of a registration's lineage; `registeredBy` is who asked for the retrain. */
export function retrainedFromDetail(lineage: RegisteredLineage, registeredBy: string): RetrainedFromDetail {
  const trigger = lineage.trigger ?? lineage.training?.trigger;
  const { training } = lineage;
  return {
    reason: lineage.reason,
    parent: lineage.parentModelVersionId,
    parentWorkflowId: lineage.parentWorkflowId ?? null,
    trigger: trigger ? { kind: trigger.kind, evidence: triggerEvidence(trigger, registeredBy) } : null,
    runner: training?.runner ?? null,
    runKey: training?.runKey ?? null,
    trainingData: training ? training.trainingData.map((d) => d.uri) : [],
    logDigest: training?.logDigest ?? null,
  };
}
