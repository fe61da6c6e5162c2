import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { ReportKind } from '../core/reports.js';

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
  team: string;
  framework: string;
  description: string;
  tags: Json<string[]>;
  template: string;
  deployment_target: string;
  /** Generated full-text vector; never written. */
  search: ColumnType<string, never, never>;
}

export interface ModelsTable {
  name: string;
  created_at: Timestamp;
}

export interface ArtifactsTable {
  model_version_id: string;
  position: number;
  uri: string;
  sha256: string;
  name: string | null;
}

export interface SchemaFieldsTable {
  model_version_id: string;
  direction: 'input' | 'output';
  position: number;
  name: string;
  type: string;
  nullable: boolean;
  categories: Json<string[] | null>;
  description: string | null;
}

export type LineageKind = 'retrained_from' | 'trained_on' | 'reference_data';

export interface LineageEdgesTable {
  kind: LineageKind;
  from_ref: string;
  to_version_id: string;
  detail: Json<Record<string, unknown>>;
  at: Timestamp;
}

export interface ReportsTable {
  workflow_id: string;
  seq: number;
  model_version_id: string;
  kind: ReportKind;
  digest: string;
  summary: Json<Record<string, unknown>>;
  at: Timestamp;
}

export interface StageTransitionsTable {
  workflow_id: string;
  seq: number;
  model_version_id: string;
  stage: string;
  step: string | null;
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
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  revoked_at: Timestamp | null;
  teams: ColumnType<string[], string | undefined, string>;
}

export interface EventsTable {
  id: string;
  type: string;
  model_version_id: string;
  workflow_id: string;
  at: Timestamp;
  data: Json<Record<string, unknown>>;
}

export interface WebhookSubscriptionsTable {
  id: string;
  url: string;
  secret: string;
  event_types: Json<string[]>;
  created_by: string;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  disabled_at: Timestamp | null;
}

export interface WebhookDeliveriesTable {
  subscription_id: string;
  event_id: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: Generated<number>;
  last_status: number | null;
  last_error: string | null;
  delivered_at: Timestamp | null;
}

/** A request the scoring gateway answered, for joining ground-truth labels to what the model said. */
export interface GatewayRequestsTable {
  seq: Generated<string>;
  request_id: string;
  model_version_id: string;
  deployment_id: string;
  window_id: string;
  at: Timestamp;
  outputs: Json<unknown>;
}

/** A window the scoring gateway closed: the observation sent to the lifecycle, and its sample of exchanges. */
export interface GatewayWindowsTable {
  id: string;
  model_version_id: string;
  deployment_id: string;
  window_start: Timestamp;
  window_end: Timestamp;
  observation: Json<unknown>;
  sample: Json<unknown>;
}

/** A webhook training run waiting for its pipeline's callback (not a projection: Temporal holds the wait). */
export interface TrainingCallbacksTable {
  run_key: string;
  token_sha256: string;
  task_token: string;
  workflow_id: string;
  created_at: Timestamp;
  completed_at: Timestamp | null;
  outcome: string | null;
}

/** A ground-truth label for one scored request (migration 0008). */
export interface RequestLabelsTable {
  model_version_id: string;
  request_id: string;
  label: Json<number | number[]>;
  groups: Json<Record<string, string>>;
  labelled_by: string;
  received_at: Timestamp;
}

/** A window's latest performance on its labelled requests, and the one it replaced. */
export interface WindowPerformanceTable {
  window_id: string;
  model_version_id: string;
  evaluation: number;
  labelled: number;
  metrics: Json<Record<string, number | null>>;
  fairness: Json<Record<string, Record<string, number | null>>>;
  previous: Json<unknown> | null;
  computed_at: Timestamp;
}

export interface CatalogSchema {
  models: ModelsTable;
  model_versions: ModelVersionsTable;
  artifacts: ArtifactsTable;
  schema_fields: SchemaFieldsTable;
  lineage_edges: LineageEdgesTable;
  reports: ReportsTable;
  stage_transitions: StageTransitionsTable;
  approval_attempts: ApprovalAttemptsTable;
  deployments: DeploymentsTable;
  api_tokens: ApiTokensTable;
  events: EventsTable;
  webhook_subscriptions: WebhookSubscriptionsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  gateway_requests: GatewayRequestsTable;
  gateway_windows: GatewayWindowsTable;
  request_labels: RequestLabelsTable;
  window_performance: WindowPerformanceTable;
  training_callbacks: TrainingCallbacksTable;
}

/** Tables that are a projection of lifecycle histories, child tables first; `reconcile` rebuilds exactly these. */
export const PROJECTION_TABLES = [
  'reports',
  'lineage_edges',
  'schema_fields',
  'artifacts',
  'approval_attempts',
  'stage_transitions',
  'deployments',
  'model_versions',
  'models',
] as const satisfies readonly (keyof CatalogSchema)[];

export type ModelVersionRow = Selectable<ModelVersionsTable>;
export type DeploymentRow = Selectable<DeploymentsTable>;
export type NewStageTransition = Insertable<StageTransitionsTable>;
