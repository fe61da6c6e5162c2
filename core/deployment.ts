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
}

/** The deployment phase under way (shadow, canary) and when it ends on its own. */
export interface DeployPhaseStatus {
  readonly name: string;
  readonly mode: 'shadow' | 'canary';
  readonly trafficShare: number;
  readonly until: string;
}
