import { sql, type Kysely } from 'kysely';

/**
 * The searchable inventory: model-level rows, the manifest's facts as columns (team, framework, tags, …),
 * a full-text search vector, artifacts, input/output schemas, lineage edges and report summaries.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('models')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await sql`insert into models (name, created_at) select name, min(created_at) from model_versions group by name`.execute(db);

  await db.schema
    .alterTable('model_versions')
    .addColumn('team', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('framework', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('tags', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('template', 'text', (c) => c.notNull().defaultTo('standard'))
    .addColumn('deployment_target', 'text', (c) => c.notNull().defaultTo('default'))
    .execute();
  // Name weighs most, then description; owner, team, framework, kind and tags match as plain words.
  await sql`
    alter table model_versions add column search tsvector generated always as (
      setweight(to_tsvector('simple', replace(replace(name, '-', ' '), '_', ' ')), 'A') ||
      setweight(to_tsvector('english', description), 'B') ||
      setweight(to_tsvector('simple', owner || ' ' || team || ' ' || framework || ' ' || kind), 'C') ||
      setweight(to_tsvector('simple', tags), 'C')
    ) stored`.execute(db);
  await sql`alter table model_versions add constraint model_versions_model_fk foreign key (name) references models (name)`.execute(db);

  await sql`create index model_versions_search on model_versions using gin (search)`.execute(db);
  await sql`create index model_versions_tags on model_versions using gin (tags jsonb_path_ops)`.execute(db);
  for (const column of ['created_at', 'updated_at', 'name']) {
    await sql`create index ${sql.raw(`model_versions_${column}_id`)} on model_versions (${sql.ref(column)}, id)`.execute(db);
  }
  for (const column of ['stage', 'owner', 'team', 'risk_tier', 'kind', 'framework']) {
    await sql`create index ${sql.raw(`model_versions_${column}`)} on model_versions (${sql.ref(column)})`.execute(db);
  }

  await db.schema
    .createTable('artifacts')
    .addColumn('model_version_id', 'text', (c) => c.notNull().references('model_versions.id'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('uri', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addPrimaryKeyConstraint('artifacts_pk', ['model_version_id', 'position'])
    .execute();
  await sql`create index artifacts_sha256 on artifacts (sha256)`.execute(db);

  await db.schema
    .createTable('schema_fields')
    .addColumn('model_version_id', 'text', (c) => c.notNull().references('model_versions.id'))
    .addColumn('direction', 'text', (c) => c.notNull().check(sql`direction in ('input', 'output')`))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('nullable', 'boolean', (c) => c.notNull())
    .addColumn('categories', 'jsonb')
    .addColumn('description', 'text')
    .addPrimaryKeyConstraint('schema_fields_pk', ['model_version_id', 'direction', 'position'])
    .execute();

  await db.schema
    .createTable('lineage_edges')
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('retrained_from', 'trained_on', 'reference_data')`))
    .addColumn('from_ref', 'text', (c) => c.notNull())
    .addColumn('to_version_id', 'text', (c) => c.notNull().references('model_versions.id'))
    .addColumn('detail', 'jsonb', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('lineage_edges_pk', ['kind', 'from_ref', 'to_version_id'])
    .execute();
  await sql`create index lineage_edges_from on lineage_edges (from_ref)`.execute(db);
  await sql`create index lineage_edges_to on lineage_edges (to_version_id)`.execute(db);

  await db.schema
    .createTable('reports')
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('model_version_id', 'text', (c) => c.notNull().references('model_versions.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('evaluation', 'scan', 'drift')`))
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('summary', 'jsonb', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('reports_pk', ['workflow_id', 'seq'])
    .execute();
  await sql`create index reports_version_kind on reports (model_version_id, kind, at desc)`.execute(db);

  await sql`create index deployments_time on deployments (from_time, to_time)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['reports', 'lineage_edges', 'schema_fields', 'artifacts']) await db.schema.dropTable(table).execute();
  await sql`alter table model_versions drop constraint model_versions_model_fk`.execute(db);
  await db.schema
    .alterTable('model_versions')
    .dropColumn('search')
    .dropColumn('team')
    .dropColumn('framework')
    .dropColumn('description')
    .dropColumn('tags')
    .dropColumn('template')
    .dropColumn('deployment_target')
    .execute();
  await db.schema.dropTable('models').execute();
}
