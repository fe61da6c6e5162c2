import { sql, type Kysely } from 'kysely';

/** Lifecycle projection: versions, stage transitions, approval attempts, deployments, API tokens. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('model_versions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('risk_tier', 'text', (c) => c.notNull())
    .addColumn('workflow_id', 'text', (c) => c.notNull().unique())
    .addColumn('manifest', 'jsonb', (c) => c.notNull())
    .addColumn('registered_by', 'text', (c) => c.notNull())
    .addColumn('parent_id', 'text', (c) => c.references('model_versions.id'))
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addUniqueConstraint('model_versions_name_version', ['name', 'version'])
    .execute();

  await db.schema
    .createTable('stage_transitions')
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('model_version_id', 'text', (c) => c.notNull().references('model_versions.id'))
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('detail', 'jsonb', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('stage_transitions_pk', ['workflow_id', 'seq'])
    .execute();

  await db.schema
    .createTable('approval_attempts')
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('model_version_id', 'text', (c) => c.notNull().references('model_versions.id'))
    .addColumn('principal', 'text', (c) => c.notNull())
    .addColumn('roles', 'jsonb', (c) => c.notNull())
    .addColumn('decision', 'text', (c) => c.notNull())
    .addColumn('comment', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('refusal_reason', 'text')
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('approval_attempts_pk', ['workflow_id', 'seq'])
    .execute();

  await db.schema
    .createTable('deployments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('model_name', 'text', (c) => c.notNull())
    .addColumn('model_version_id', 'text', (c) => c.notNull().references('model_versions.id'))
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('strategy', 'text', (c) => c.notNull())
    .addColumn('traffic_share', 'real', (c) => c.notNull())
    .addColumn('from_time', 'timestamptz', (c) => c.notNull())
    .addColumn('to_time', 'timestamptz')
    .addColumn('end_reason', 'text')
    .execute();
  // At most one live deployment of a model per target: the database, not just the code, forbids two champions.
  await sql`create unique index deployments_one_live on deployments (model_name, target) where to_time is null`.execute(db);

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('principal', 'text', (c) => c.notNull())
    .addColumn('roles', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('revoked_at', 'timestamptz')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['api_tokens', 'deployments', 'approval_attempts', 'stage_transitions', 'model_versions']) {
    await db.schema.dropTable(table).execute();
  }
}
