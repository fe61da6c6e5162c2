import type { VersionBump } from './model-id.js';

/**
 * A bare lifecycle policy: what lifecycles recorded before templates carried in their input (their histories
 * must keep replaying) and what development and tests start lifecycles with. Templates (workflows/dsl/,
 * templates/) are how production lifecycles are configured; `ApprovalPolicy` and `Severity` serve both.
 */
export interface LifecyclePolicy {
  readonly test: {
    /** Metric name → minimum value the manifest's metrics must reach. */
    readonly minMetrics: Readonly<Record<string, number>>;
  };
  readonly scan: {
    /** Findings at or above this severity block the lifecycle. */
    readonly blockAt: Severity;
  };
  readonly approval: ApprovalPolicy;
  readonly monitor: {
    /** Time between two monitor cycles. */
    readonly intervalMs: number;
    /** Cycles per workflow run before continue-as-new, which keeps each run's history bounded. */
    readonly cyclesPerRun: number;
  };
  readonly retrain: {
    readonly versionBump: VersionBump;
  };
}

/** The human gate: who may decide, how many must agree, and what happens when nobody does. */
export interface ApprovalPolicy {
  /** Groups whose approvers may decide (`approver:<group>` roles). */
  readonly groups: readonly string[];
  /** Distinct approvers needed to pass. One rejection from an eligible approver ends the gate. */
  readonly quorum: number;
  /** Each group must contribute at least one of the approvals. */
  readonly requireEveryGroup: boolean;
  /** Members of the model's owning team may not approve it (the registrant never may). */
  readonly excludeOwningTeam: boolean;
  readonly deadline: ApprovalDeadline | null;
}

/** Durable timers measured from the moment the gate opens. */
export interface ApprovalDeadline {
  readonly timeoutMs: number;
  /** When to remind the eligible approvers. */
  readonly remindAfterMs: readonly number[];
  /** When to notify `escalationGroup` that the gate is still open; the gate itself is unchanged. */
  readonly escalateAfterMs: number | null;
  readonly escalationGroup: string | null;
  /** At the timeout: reject, or hand the gate to another group for `extraMs` more (then reject). */
  readonly onTimeout: { readonly action: 'reject' } | { readonly action: 'escalate'; readonly group: string; readonly extraMs: number };
}

export const defaultApprovalPolicy: ApprovalPolicy = {
  groups: ['risk'],
  quorum: 1,
  requireEveryGroup: false,
  excludeOwningTeam: false,
  deadline: null,
};

/**
 * Fills fields a lifecycle's recorded policy predates, so histories recorded before a field existed replay
 * with the behaviour they had.
 */
export function withPolicyDefaults(policy: LifecyclePolicy): LifecyclePolicy {
  return { ...policy, approval: { ...defaultApprovalPolicy, ...policy.approval } };
}

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function severityAtLeast(severity: Severity, threshold: Severity): boolean {
  return SEVERITIES.indexOf(severity) >= SEVERITIES.indexOf(threshold);
}

export const defaultPolicy: LifecyclePolicy = {
  test: { minMetrics: {} },
  scan: { blockAt: 'high' },
  approval: defaultApprovalPolicy,
  monitor: { intervalMs: 60 * 60 * 1000, cyclesPerRun: 100 },
  retrain: { versionBump: 'minor' },
};
