import { sql, type Kysely } from 'kysely';

/**
 * Webhook training runs waiting for their pipeline's callback: the Temporal task token that completes the
 * waiting activity, found by the sha256 of the callback token (the token itself is only in the URL handed to
 * the pipeline, never stored). One row per training run; a retried attempt replaces its token.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('training_callbacks')
    .addColumn('run_key', 'text', (c) => c.primaryKey())
    .addColumn('token_sha256', 'text', (c) => c.notNull().unique())
    .addColumn('task_token', 'text', (c) => c.notNull())
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('completed_at', 'timestamptz')
    .addColumn('outcome', 'text')
    .execute();
  await sql`create index training_callbacks_workflow on training_callbacks (workflow_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('training_callbacks').execute();
}
