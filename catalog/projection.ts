import type { CatalogDb } from './db.js';
import type { ModelManifest } from '../core/manifest.js';
import type { Principal } from '../core/principal.js';
import type { StageTransition } from '../core/stages.js';
import type { ApprovalAttempt } from '../core/approval.js';
import type { Deployment, DeployInput, EndDeploymentInput } from '../core/deployment.js';

export interface RegisterVersionInput {
  readonly workflowId: string;
  readonly modelVersionId: string;
  readonly manifest: ModelManifest;
  readonly registeredBy: Principal;
  readonly lineage: { readonly parentModelVersionId: string; readonly reason: string } | null;
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

export type { Deployment, DeployInput, EndDeploymentInput };

/**
 * Makes this version the live one on its target, ending whichever version served there before, in one
 * transaction; a shadow or canary phase runs beside the champion instead. Idempotent: a retry after a crash,
 * a concurrent retry, or `reconcile` replaying the history finds the row and changes nothing.
 */
export async function projectDeployment(db: CatalogDb, input: DeployInput): Promise<Deployment> {
  const strategy = input.strategy ?? 'replace';
  return db.transaction().execute(async (trx) => {
    const alreadyDone = await trx.selectFrom('deployments').select('id').where('id', '=', input.deploymentId).executeTakeFirst();
    if (!alreadyDone && strategy === 'replace') {
      await trx
        .updateTable('deployments')
        .set({ to_time: input.at, end_reason: `replaced by ${input.modelVersionId}` })
        .where('model_name', '=', input.modelName)
        .where('target', '=', input.target)
        .where('to_time', 'is', null)
        .where('strategy', '=', 'replace')
        .where('id', '!=', input.deploymentId)
        .execute();
    }
    if (!alreadyDone) {
      // A concurrent retry of the same activity may insert first; its row is the same deployment.
      await trx
        .insertInto('deployments')
        .values({
          id: input.deploymentId,
          model_name: input.modelName,
          model_version_id: input.modelVersionId,
          target: input.target,
          strategy,
          traffic_share: strategy === 'replace' ? 1 : (input.trafficShare ?? 0),
          from_time: input.at,
          to_time: null,
          end_reason: null,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    }
    const row = await trx
      .selectFrom('deployments')
      .select(['id', 'target', 'from_time'])
      .where('id', '=', input.deploymentId)
      .executeTakeFirstOrThrow();
    return { deploymentId: row.id, target: row.target, since: row.from_time.toISOString() };
  });
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
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('models').values({ name: m.name, created_at: at }).onConflict((oc) => oc.column('name').doNothing()).execute();
        await trx
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
            parent_id: input.lineage?.parentModelVersionId ?? null,
            stage: 'register',
            created_at: at,
            updated_at: at,
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .execute();

        // Child rows are written idempotently on their own, so a repair fills in whatever is missing.
        await trx
          .insertInto('artifacts')
          .values(m.artifacts.map((a, position) => ({ model_version_id: id, position, uri: a.uri, sha256: a.sha256, name: a.name ?? null })))
          .onConflict((oc) => oc.columns(['model_version_id', 'position']).doNothing())
          .execute();
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
        await trx
          .insertInto('schema_fields')
          .values(fields)
          .onConflict((oc) => oc.columns(['model_version_id', 'direction', 'position']).doNothing())
          .execute();

        const edges = [
          ...(input.lineage
            ? [{ kind: 'retrained_from' as const, from_ref: input.lineage.parentModelVersionId, detail: { reason: input.lineage.reason } }]
            : []),
          ...m.trainingData.map((d) => ({ kind: 'trained_on' as const, from_ref: d.uri, detail: { sha256: d.sha256 ?? null } })),
          ...(m.referenceDataset
            ? [{ kind: 'reference_data' as const, from_ref: m.referenceDataset.uri, detail: { sha256: m.referenceDataset.sha256 ?? null } }]
            : []),
        ];
        if (edges.length > 0) {
          await trx
            .insertInto('lineage_edges')
            .values(edges.map((e) => ({ ...e, to_version_id: id, detail: json(e.detail), at })))
            .onConflict((oc) => oc.columns(['kind', 'from_ref', 'to_version_id']).doNothing())
            .execute();
        }
      });
    },

    async recordStage(t: StageTransition): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx
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
          .onConflict((oc) => oc.columns(['workflow_id', 'seq']).doNothing())
          .execute();
        if (t.report) {
          await trx
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
            .onConflict((oc) => oc.columns(['workflow_id', 'seq']).doNothing())
            .execute();
        }
        await trx
          .updateTable('model_versions')
          .set({ stage: t.stage, updated_at: t.at })
          .where('id', '=', t.modelVersionId)
          .where('updated_at', '<=', new Date(t.at))
          .execute();
        if (t.outcome === 'migrated') {
          await trx.updateTable('model_versions').set({ template: t.detail.to }).where('id', '=', t.modelVersionId).execute();
        }
      });
    },

    async recordApprovalAttempt(input: RecordApprovalAttemptInput): Promise<void> {
      const { attempt } = input;
      await db
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
        .onConflict((oc) => oc.columns(['workflow_id', 'seq']).doNothing())
        .execute();
    },
  };
}
