import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/**
 * The catalog: a queryable projection of the lifecycle histories. Temporal's history stays the source of
 * truth; activities keep these tables current.
 */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface ModelVersionsTable {
  id: string;
  name: string;
  version: string;
  owner: string;
  kind: string;
  risk_tier: string;
  workflow_id: string;
  manifest: Json<unknown>;
  registered_by: string;
  parent_id: string | null;
  stage: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface StageTransitionsTable {
  workflow_id: string;
  seq: number;
  model_version_id: string;
  stage: string;
  outcome: string;
  actor: string;
  detail: Json<Record<string, unknown>>;
  at: Timestamp;
}

export interface ApprovalAttemptsTable {
  workflow_id: string;
  seq: number;
  model_version_id: string;
  principal: string;
  roles: Json<string[]>;
  decision: string;
  comment: string;
  status: string;
  refusal_reason: string | null;
  at: Timestamp;
}

export interface DeploymentsTable {
  id: string;
  model_name: string;
  model_version_id: string;
  target: string;
  strategy: string;
  traffic_share: number;
  from_time: Timestamp;
  to_time: Timestamp | null;
  end_reason: string | null;
}

export interface ApiTokensTable {
  id: Generated<number>;
  token_hash: string;
  principal: string;
  roles: Json<string[]>;
  created_at: Generated<Timestamp>;
  revoked_at: Timestamp | null;
}

export interface CatalogSchema {
  model_versions: ModelVersionsTable;
  stage_transitions: StageTransitionsTable;
  approval_attempts: ApprovalAttemptsTable;
  deployments: DeploymentsTable;
  api_tokens: ApiTokensTable;
}

export type ModelVersionRow = Selectable<ModelVersionsTable>;
export type DeploymentRow = Selectable<DeploymentsTable>;
export type NewStageTransition = Insertable<StageTransitionsTable>;
