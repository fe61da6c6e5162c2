import { sql, type Kysely } from 'kysely';

/**
 * Templates: a transition names the template step it belongs to (`fairness`, `shadow`), and shadow and
 * canary phases run beside the champion, so only full (`replace`) deployments are limited to one per target.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('stage_transitions').addColumn('step', 'text').execute();
  await sql`drop index deployments_one_live`.execute(db);
  await sql`create unique index deployments_one_live on deployments (model_name, target) where to_time is null and strategy = 'replace'`.execute(db);
}
