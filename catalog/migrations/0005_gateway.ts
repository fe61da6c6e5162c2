import { sql, type Kysely } from 'kysely';

/**
 * The scoring gateway's records: one row per scored request (its id, for joining ground-truth labels later,
 * and what answered it) and one per closed window (the observation sent to the lifecycle and its sample).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('gateway_requests')
    .addColumn('seq', 'bigserial', (c) => c.primaryKey())
    // The caller's V2 id when it sent one (not necessarily unique), else one the gateway generated.
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('model_version_id', 'text', (c) => c.notNull())
    .addColumn('deployment_id', 'text', (c) => c.notNull())
    .addColumn('window_id', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('outputs', 'jsonb', (c) => c.notNull())
    .execute();
  await sql`create index gateway_requests_request_id on gateway_requests (request_id)`.execute(db);
  await sql`create index gateway_requests_version_at on gateway_requests (model_version_id, at)`.execute(db);

  await db.schema
    .createTable('gateway_windows')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('model_version_id', 'text', (c) => c.notNull())
    .addColumn('deployment_id', 'text', (c) => c.notNull())
    .addColumn('window_start', 'timestamptz', (c) => c.notNull())
    .addColumn('window_end', 'timestamptz', (c) => c.notNull())
    .addColumn('observation', 'jsonb', (c) => c.notNull())
    .addColumn('sample', 'jsonb', (c) => c.notNull())
    .execute();
  await sql`create index gateway_windows_version on gateway_windows (model_version_id, window_start)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('gateway_windows').execute();
  await db.schema.dropTable('gateway_requests').execute();
}
