/** A version serving on a target: what "what was in production at time T" is answered from. */
export interface Deployment {
  readonly deploymentId: string;
  readonly target: string;
  readonly since: string;
}

export type DeployStrategy = 'replace' | 'shadow' | 'canary';

export interface DeployInput {
  readonly deploymentId: string;
  readonly modelName: string;
  readonly modelVersionId: string;
  readonly target: string;
  readonly at: string;
  /** A phase before the full rollout; absent (older histories) or `replace` makes this version the champion. */
  readonly strategy?: DeployStrategy;
  /** Share of live traffic; 0 for shadow, 1 for replace. */
  readonly trafficShare?: number;
}

export interface EndDeploymentInput {
  readonly deploymentId: string;
  readonly at: string;
  readonly reason: string;
  /** The version goes on serving in its next phase (a promoted shadow or canary): leave it loaded. */
  readonly keepLoaded?: boolean;
}

/** One health check of a deployment: ended behind the lifecycle's back, or its runtime no longer serving it. */
export interface DeploymentProbe {
  readonly ended: boolean;
  readonly endReason: string | null;
  /** Absent when the row is missing or ended (nothing to ask the runtime) and in histories before health checks. */
  readonly ready?: boolean;
  readonly problem?: string;
}

/** The deployment phase under way (shadow, canary) and when it ends on its own. */
export interface DeployPhaseStatus {
  readonly name: string;
  readonly mode: 'shadow' | 'canary';
  readonly trafficShare: number;
  readonly until: string;
}

/** Why a probe says a deployment is no longer served (ended, or its runtime not serving it), or null when it is. */
export function whyNotServing(probe: DeploymentProbe): string | null {
  if (probe.ended) return probe.endReason ?? 'deployment ended';
  return probe.ready === false ? `health check failed: ${probe.problem ?? 'runtime not ready'}` : null;
}
