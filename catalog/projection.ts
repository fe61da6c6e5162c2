import { sql, type OperationNodeSource } from 'kysely';
import type { CatalogDb } from './db.js';
import type { ModelManifest } from '../core/manifest.js';
import type { Principal } from '../core/principal.js';
import type { StageTransition } from '../core/stages.js';
import type { ApprovalAttempt } from '../core/approval.js';
import type { Deployment, DeployInput, EndDeploymentInput } from '../core/deployment.js';
import { retrainedFromDetail, type RegisteredLineage } from '../core/retrain-lineage.js';

export interface RegisterVersionInput {
  readonly workflowId: string;
  readonly modelVersionId: string;
  readonly manifest: ModelManifest;
  readonly registeredBy: Principal;
  /** A retrained version's link to its parent; trigger and training only in histories recorded since they were carried. */
  readonly lineage: RegisteredLineage | null;
  readonly at: string;
  /** The exact template version (`high-risk@1`); absent in histories recorded before templates. */
  readonly template?: string;
}

export interface RecordApprovalAttemptInput {
  readonly workflowId: string;
  readonly modelVersionId: string;
  readonly seq: number;
  readonly attempt: ApprovalAttempt;
}

const json = (value: unknown) => JSON.stringify(value);

/** An event as the event log stores it (events/event.ts's StewardEvent); written beside the fact it reports. */
export interface EventRow {
  readonly id: string;
  readonly type: string;
  readonly modelVersionId: string;
  readonly workflowId: string;
  readonly at: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export type { Deployment, DeployInput, EndDeploymentInput };

/**
 * Makes this version the live one on its target, ending whichever version served there before, in one
 * transaction; a shadow or canary phase runs beside the champion instead. Idempotent: a retry after a crash,
 * a concurrent retry, or `reconcile` replaying the history finds the row and changes nothing.
 */
export async function projectDeployment(db: CatalogDb, input: DeployInput): Promise<Deployment> {
  const strategy = input.strategy ?? 'replace';
  const trafficShare = strategy === 'replace' ? 1 : (input.trafficShare ?? 0);
  // One statement (one round trip): a row already there is the answer; otherwise a replacement ends the live
  // champion and the row is inserted, both in the statement's one transaction.
  const replaced =
    strategy === 'replace'
      ? sql`, ended as (
          update deployments set to_time = ${input.at}::timestamptz, end_reason = ${`replaced by ${input.modelVersionId}`}
          where model_name = ${input.modelName} and target = ${input.target} and to_time is null and strategy = 'replace'
            and id <> ${input.deploymentId} and not exists (select 1 from prior)
          returning id
        )`
      : sql``;
  // Reading `ended` makes the champion's row end before the new one is inserted (one live champion per target).
  const afterEnded = strategy === 'replace' ? sql`and (select count(*) from ended) >= 0` : sql``;
  const { rows } = await sql<{ id: string; target: string; from_time: Date }>`
    with prior as (select id, target, from_time from deployments where id = ${input.deploymentId})
    ${replaced},
    inserted as (
      insert into deployments (id, model_name, model_version_id, target, strategy, traffic_share, from_time, to_time, end_reason)
      select ${input.deploymentId}, ${input.modelName}, ${input.modelVersionId}, ${input.target}, ${strategy}, ${trafficShare}, ${input.at}::timestamptz, null, null
      where not exists (select 1 from prior) ${afterEnded}
      on conflict (id) do nothing
      returning id, target, from_time
    )
    select id, target, from_time from prior union all select id, target, from_time from inserted`.execute(db);
  // A concurrent retry of the same activity inserted first (invisible to this statement's snapshot): its row
  // is the same deployment.
  const row = rows[0] ?? (await db.selectFrom('deployments').select(['id', 'target', 'from_time']).where('id', '=', input.deploymentId).executeTakeFirstOrThrow());
  return { deploymentId: row.id, target: row.target, since: new Date(row.from_time).toISOString() };
}

/** Ends a deployment that is still live; a no-op once it has ended (for example, replaced by a successor). */
export async function projectDeploymentEnd(db: CatalogDb, input: EndDeploymentInput): Promise<void> {
  await db
    .updateTable('deployments')
    .set({ to_time: input.at, end_reason: input.reason })
    .where('id', '=', input.deploymentId)
    .where('to_time', 'is', null)
    .execute();
}


/**
 * The catalog projection: the only code that writes lifecycle facts to the catalog. Each writer takes exactly
 * what the workflow recorded in history (an activity's input) and is idempotent, keyed by workflow id and
 * sequence number, so a retried activity, or `reconcile` replaying a history, never writes a row twice.
 */
export function projection(db: CatalogDb) {
  return {
    deployVersion: (input: DeployInput) => projectDeployment(db, input),
    endDeployment: (input: EndDeploymentInput) => projectDeploymentEnd(db, input),
    async registerVersion(input: RegisterVersionInput): Promise<void> {
      const { manifest: m, modelVersionId: id, at } = input;
      const fields = (['input', 'output'] as const).flatMap((direction) =>
        (direction === 'input' ? m.inputSchema : m.outputSchema).map((f, position) => ({
          model_version_id: id,
          direction,
          position,
          name: f.name,
          type: f.type,
          nullable: f.nullable,
          categories: json(f.categories ?? null),
          description: f.description ?? null,
        })),
      );
      const { lineage } = input;
      // Data a training run used is an edge too (normally it is the manifest's training data as well), named by its run.
      const runData = lineage?.training?.trainingData ?? [];
      const trainedOn = [...m.trainingData, ...runData.filter((d) => !m.trainingData.some((t) => t.uri === d.uri))];
      const runKey = lineage?.training?.runKey;
      const edges = [
        ...(lineage ? [{ kind: 'retrained_from' as const, from_ref: lineage.parentModelVersionId, detail: retrainedFromDetail(lineage, input.registeredBy.id) }] : []),
        ...trainedOn.map((d) => ({
          kind: 'trained_on' as const,
          from_ref: d.uri,
          detail: { sha256: d.sha256 ?? null, ...(runKey && runData.some((r) => r.uri === d.uri) ? { runKey } : {}) },
        })),
        ...(m.referenceDataset ? [{ kind: 'reference_data' as const, from_ref: m.referenceDataset.uri, detail: { sha256: m.referenceDataset.sha256 ?? null } }] : []),
      ];
      // One statement: the model, the version and its child rows commit together. Child rows are idempotent on
      // their own keys, so a repair fills in whatever is missing.
      await writeAsOne(db, [
        db.insertInto('models').values({ name: m.name, created_at: at }).onConflict((oc) => oc.column('name').doNothing()),
        db
          .insertInto('model_versions')
          .values({
            id,
            name: m.name,
            version: m.version,
            owner: m.owner,
            team: m.team,
            kind: m.kind,
            framework: m.framework,
            description: m.description,
            risk_tier: m.riskTier,
            tags: json(m.tags),
            template: input.template ?? m.template,
            deployment_target: m.deploymentTarget,
            workflow_id: input.workflowId,
            manifest: json(m),
            registered_by: input.registeredBy.id,
            parent_id: lineage?.parentModelVersionId ?? null,
            stage: 'register',
            created_at: at,
            updated_at: at,
          })
          .onConflict((oc) => oc.column('id').doNothing()),
        ...(m.artifacts.length > 0
          ? [
              db
                .insertInto('artifacts')
                .values(m.artifacts.map((a, position) => ({ model_version_id: id, position, uri: a.uri, sha256: a.sha256, name: a.name ?? null })))
                .onConflict((oc) => oc.columns(['model_version_id', 'position']).doNothing()),
            ]
          : []),
        ...(fields.length > 0
          ? [db.insertInto('schema_fields').values(fields).onConflict((oc) => oc.columns(['model_version_id', 'direction', 'position']).doNothing())]
          : []),
        ...(edges.length > 0
          ? [
              db
                .insertInto('lineage_edges')
                .values(edges.map((e) => ({ ...e, to_version_id: id, detail: json(e.detail), at })))
                .onConflict((oc) => oc.columns(['kind', 'from_ref', 'to_version_id']).doNothing()),
            ]
          : []),
      ]);
    },

    async recordStage(t: StageTransition): Promise<void> {
      await recordStage(db, t);
    },

    async recordApprovalAttempt(input: RecordApprovalAttemptInput): Promise<void> {
      await recordApprovalAttempt(db, input);
    },
  };
}

/**
 * Writes several statements as one: data-modifying CTEs of a single statement, so a transition costs one
 * round trip and one (implicit) transaction instead of BEGIN, a statement per table and COMMIT. Every part
 * runs exactly once whether or not anything reads it, and they commit or fail together. With `event`, the
 * event row and a pending delivery for each matching webhook subscription are written in the same statement,
 * and the subscriptions' ids are returned (their delivery workflows are started by the caller).
 */
async function writeAsOne(db: CatalogDb, parts: readonly OperationNodeSource[], event?: EventRow): Promise<string[]> {
  const ctes = parts.map((part, i) => sql`${sql.id(`w${i}`)} as (${part})`);
  if (!event) {
    await sql`with ${sql.join(ctes)} select 1`.execute(db);
    return [];
  }
  const { rows } = await sql<{ id: string }>`
    with ${sql.join(ctes)},
    e as (${db
      .insertInto('events')
      .values({ id: event.id, type: event.type, model_version_id: event.modelVersionId, workflow_id: event.workflowId, at: event.at, data: json(event.data) })
      .onConflict((oc) => oc.column('id').doNothing())}),
    s as (
      select id from webhook_subscriptions
      where disabled_at is null and (event_types = '[]'::jsonb or event_types @> ${json([event.type])}::jsonb)
    ),
    d as (
      insert into webhook_deliveries (subscription_id, event_id, status)
      select id, ${event.id}, 'pending' from s
      on conflict (subscription_id, event_id) do nothing
    )
    select id from s`.execute(db);
  return rows.map((r) => r.id);
}

/** The writes of one stage transition: its row, its report, the version's current stage. */
function stageParts(db: CatalogDb, t: StageTransition): OperationNodeSource[] {
  return [
    db
      .insertInto('stage_transitions')
      .values({
        workflow_id: t.workflowId,
        seq: t.seq,
        model_version_id: t.modelVersionId,
        stage: t.stage,
        step: t.step ?? null,
        outcome: t.outcome,
        actor: t.actor,
        detail: json(t.detail),
        at: t.at,
      })
      .onConflict((oc) => oc.columns(['workflow_id', 'seq']).doNothing()),
    ...(t.report
      ? [
          db
            .insertInto('reports')
            .values({
              workflow_id: t.workflowId,
              seq: t.seq,
              model_version_id: t.modelVersionId,
              kind: t.report.kind,
              digest: t.report.digest,
              summary: json(t.report.summary),
              at: t.at,
            })
            .onConflict((oc) => oc.columns(['workflow_id', 'seq']).doNothing()),
        ]
      : []),
    db
      .updateTable('model_versions')
      .set({ stage: t.stage, updated_at: t.at })
      .where('id', '=', t.modelVersionId)
      .where('updated_at', '<=', new Date(t.at)),
  ];
}

/**
 * Records a stage transition in one statement; with `event`, its event and webhook deliveries too (the
 * returned subscription ids are the deliveries to start). Idempotent on (workflow id, seq) and the event id.
 */
export async function recordStage(db: CatalogDb, t: StageTransition, event?: EventRow): Promise<string[]> {
  const subscriptions = await writeAsOne(db, stageParts(db, t), event);
  // A second update of the same row cannot share the statement above (PostgreSQL applies only one of them).
  if (t.outcome === 'migrated') {
    await db.updateTable('model_versions').set({ template: t.detail.to }).where('id', '=', t.modelVersionId).execute();
  }
  return subscriptions;
}

/** Records an approval attempt in one statement; with `event`, as recordStage does. */
export async function recordApprovalAttempt(db: CatalogDb, input: RecordApprovalAttemptInput, event?: EventRow): Promise<string[]> {
  const { attempt } = input;
  const insert = db
    .insertInto('approval_attempts')
    .values({
      workflow_id: input.workflowId,
      seq: input.seq,
      model_version_id: input.modelVersionId,
      principal: attempt.request.principal.id,
      roles: json(attempt.request.principal.roles),
      decision: attempt.request.decision,
      comment: attempt.request.comment,
      status: attempt.verdict.status,
      refusal_reason: attempt.verdict.status === 'refused' ? attempt.verdict.reason : null,
      at: attempt.at,
    })
    .onConflict((oc) => oc.columns(['workflow_id', 'seq']).doNothing());
  return writeAsOne(db, [insert], event);
}
