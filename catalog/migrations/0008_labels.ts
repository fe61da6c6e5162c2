import { sql, type Kysely } from 'kysely';

/**
 * Ground truth for live monitoring: one label per scored request (joined to `gateway_requests` by request id,
 * whenever it arrives), and each window's latest performance with the one before it, so a late label's change
 * to a window is on record.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('request_labels')
    .addColumn('model_version_id', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text', (c) => c.notNull())
    // A number, or one per row of a request that scored a batch.
    .addColumn('label', 'jsonb', (c) => c.notNull())
    // Protected attribute → the request's group, for fairness.
    .addColumn('groups', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('labelled_by', 'text', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('request_labels_pk', ['model_version_id', 'request_id'])
    .execute();

  await db.schema
    .createTable('window_performance')
    .addColumn('window_id', 'text', (c) => c.primaryKey())
    .addColumn('model_version_id', 'text', (c) => c.notNull())
    // The lifecycle's evaluation that wrote the row: a retried evaluation finds its own result.
    .addColumn('evaluation', 'integer', (c) => c.notNull())
    .addColumn('labelled', 'integer', (c) => c.notNull())
    .addColumn('metrics', 'jsonb', (c) => c.notNull())
    .addColumn('fairness', 'jsonb', (c) => c.notNull())
    .addColumn('previous', 'jsonb')
    .addColumn('computed_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await sql`create index window_performance_version on window_performance (model_version_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('window_performance').execute();
  await db.schema.dropTable('request_labels').execute();
}
