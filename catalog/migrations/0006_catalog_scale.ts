import { sql, type Kysely } from 'kysely';

/**
 * Indexes for the catalog's read paths at scale (`npm run bench:catalog`, 100,000 versions):
 * - a version's transitions and approval attempts in order (version page, approvals inbox, production at T);
 * - a version's deployments, and its live ones (the version page and the `deployed` search filter);
 * - a model's deployments by start (model page, production at T for one model);
 * - serving deployments in (model, target, start, id) order, the keyset of production at T across all models
 *   (for a time when few deployments were live, the planner uses `deployments_time` from 0002 instead);
 * - versions by stage and last change (the approvals inbox walks the versions waiting at the gate in order).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    sql`create index stage_transitions_version_seq on stage_transitions (model_version_id, seq)`,
    sql`create index approval_attempts_version_seq on approval_attempts (model_version_id, seq)`,
    sql`create index deployments_version_from on deployments (model_version_id, from_time)`,
    sql`create index deployments_version_live on deployments (model_version_id) where to_time is null`,
    sql`create index deployments_model_from on deployments (model_name, from_time)`,
    sql`create index deployments_serving_order on deployments (model_name, target, from_time, id) where traffic_share > 0`,
    sql`create index model_versions_stage_updated on model_versions (stage, updated_at, id)`,
  ];
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const name of [
    'stage_transitions_version_seq',
    'approval_attempts_version_seq',
    'deployments_version_from',
    'deployments_version_live',
    'deployments_model_from',
    'deployments_serving_order',
    'model_versions_stage_updated',
  ]) {
    await sql`drop index ${sql.ref(name)}`.execute(db);
  }
}
