import { sql, type Expression, type ExpressionBuilder, type Selectable, type SqlBool } from 'kysely';
import type { RetrainedFromDetail } from '../core/retrain-lineage.js';
import type { CatalogSchema, DeploymentRow, LineageEdgesTable } from './schema.js';
import type { CatalogDb } from './db.js';

/** Read side of the catalog: search, the model page and "what was in production at time T". */

export const SORTS = {
  created: 'created_at',
  updated: 'updated_at',
  name: 'name',
} as const;
export type Sort = keyof typeof SORTS;
export type Order = 'asc' | 'desc';

export interface SearchFilters {
  readonly stage?: string;
  readonly owner?: string;
  readonly team?: string;
  readonly riskTier?: string;
  readonly kind?: string;
  readonly framework?: string;
  /** Every tag must be present. */
  readonly tags?: readonly string[];
  /** Free text over name, description, owner, team, framework, kind and tags (PostgreSQL full-text search). */
  readonly q?: string;
  /** Has a live deployment (true) or none (false). */
  readonly deployed?: boolean;
  readonly name?: string;
  /** `name@version` exactly, or `name` for any of its versions. */
  readonly template?: string;
}

export interface PageRequest {
  readonly sort: Sort;
  readonly order: Order;
  readonly limit: number;
  readonly cursor?: string;
}

export class InvalidCursorError extends Error {}

/** Opaque keyset cursor: the sort key and id of the last row served, bound to the sort it came from. */
interface Cursor {
  readonly s: Sort;
  readonly o: Order;
  readonly v: string;
  readonly id: string;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

/** Time sort keys are written by `toISOString`; anything else did not come from this API. */
const ISSUED_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Checks everything the keyset condition will hand to the database, so a made-up cursor is refused here
 * instead of failing inside PostgreSQL (a `::timestamptz` cast of a date that does not parse, a NUL byte).
 */
function decodeCursor(raw: string, sort: Sort, order: Order): Cursor {
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('cursor is not one this API issued');
  }
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new InvalidCursorError('cursor is not one this API issued');
  const { s, o, v, id } = c as Partial<Record<keyof Cursor, unknown>>;
  if (typeof v !== 'string' || typeof id !== 'string' || id.length === 0 || [v, id].some((x) => x.includes('\u0000'))) {
    throw new InvalidCursorError('cursor is malformed');
  }
  if (s !== sort || o !== order) throw new InvalidCursorError('cursor belongs to a different sort or order');
  if (sort !== 'name' && !(ISSUED_TIME.test(v) && !Number.isNaN(Date.parse(v)) && new Date(v).toISOString() === v)) {
    throw new InvalidCursorError('cursor holds a time that is not valid');
  }
  return { s: sort, o: order, v, id };
}

const sortValue = (row: { created_at: Date; updated_at: Date; name: string }, sort: Sort): string =>
  sort === 'name' ? row.name : row[SORTS[sort]].toISOString();

/** A letter or digit on both sides: the hyphen or underscore joins a compound (`card-fraud`), not a `-not`. */
const JOINER = /(?<=[\p{L}\p{N}])[-_]+(?=[\p{L}\p{N}])/gu;
const COMPOUND = /[\p{L}\p{N}]+(?:[-_]+[\p{L}\p{N}]+)+/gu;

/**
 * The search vector splits a model's name at `-` and `_` (`card-fraud` is the words card, fraud), while the
 * text-search parser keeps a hyphenated query word whole (`card-fraud` must then be one lexeme) and so
 * never matches a name. This writes each compound of a websearch query as the phrase of its words:
 * `card-fraud` outside quotes becomes `"card fraud"`, and inside quotes its words simply join the phrase.
 */
export function nameWords(q: string): string {
  return q
    .split('"')
    .map((part, i) => (i % 2 === 1 ? part.replace(JOINER, ' ') : part.replace(COMPOUND, (c) => `"${c.replace(JOINER, ' ')}"`)))
    .join('"');
}

export interface VersionSummary {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly stage: string;
  readonly owner: string;
  readonly team: string;
  readonly kind: string;
  readonly framework: string;
  readonly riskTier: string;
  /** The template version the lifecycle runs (`high-risk@1`). */
  readonly template: string;
  readonly tags: string[];
  readonly description: string;
  readonly deployed: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * Keyset-paginated search over model versions. Ordering is (sort key, id), a strict total order, so a walk
 * through the pages never skips or repeats a row that existed when it began, whatever is inserted meanwhile.
 */
export async function searchVersions(
  db: CatalogDb,
  filters: SearchFilters,
  page: PageRequest,
): Promise<{ items: VersionSummary[]; nextCursor: string | null }> {
  const column = SORTS[page.sort];
  const isLive = (eb: ExpressionBuilder<CatalogSchema & { v: CatalogSchema['model_versions'] }, 'v'>) =>
    eb.exists(
      eb
        .selectFrom('deployments')
        .select(sql<number>`1`.as('one'))
        .whereRef('deployments.model_version_id', '=', 'v.id')
        .where('deployments.to_time', 'is', null),
    );

  let query = db
    .selectFrom('model_versions as v')
    .select([
      'v.id',
      'v.name',
      'v.version',
      'v.stage',
      'v.owner',
      'v.team',
      'v.kind',
      'v.framework',
      'v.risk_tier',
      'v.template',
      'v.tags',
      'v.description',
      'v.created_at',
      'v.updated_at',
    ]);

  const equals = [
    ['v.stage', filters.stage],
    ['v.owner', filters.owner],
    ['v.team', filters.team],
    ['v.risk_tier', filters.riskTier],
    ['v.kind', filters.kind],
    ['v.framework', filters.framework],
    ['v.name', filters.name],
  ] as const;
  for (const [col, value] of equals) if (value !== undefined) query = query.where(col, '=', value);
  if (filters.template !== undefined) {
    const t = filters.template;
    query = query.where((eb) => (t.includes('@') ? eb('v.template', '=', t) : eb.or([eb('v.template', '=', t), eb('v.template', 'like', `${t}@%`)])));
  }
  if (filters.tags?.length) query = query.where(sql<SqlBool>`v.tags @> ${JSON.stringify(filters.tags)}::jsonb`);
  if (filters.q) {
    // Stemmed (english) for prose, unstemmed (simple) for names and identifiers, and the names' own words
    // (`card-fraud` as the phrase "card fraud", as the vector holds names); any of them may match.
    query = query.where(
      sql<SqlBool>`v.search @@ (websearch_to_tsquery('english', ${filters.q}) || websearch_to_tsquery('simple', ${filters.q}) || websearch_to_tsquery('simple', ${nameWords(filters.q)}))`,
    );
  }
  if (filters.deployed !== undefined) query = query.where((eb) => (filters.deployed ? isLive(eb) : eb.not(isLive(eb))));

  if (page.cursor) {
    const c = decodeCursor(page.cursor, page.sort, page.order);
    const value: Expression<unknown> = page.sort === 'name' ? sql`${c.v}` : sql`${c.v}::timestamptz`;
    const op = page.order === 'asc' ? sql`>` : sql`<`;
    query = query.where(sql<SqlBool>`(${sql.ref(`v.${column}`)}, v.id) ${op} (${value}, ${c.id})`);
  }
  const rows = await query
    .orderBy(`v.${column}`, page.order)
    .orderBy('v.id', page.order)
    .limit(page.limit + 1)
    .execute();

  const served = rows.slice(0, page.limit);
  // Which of this page's versions are live, asked for the page alone: as a column of the search, PostgreSQL
  // may plan the check as a hash of every live deployment, whatever the page size.
  const live = new Set(
    served.length === 0
      ? []
      : (
          await db
            .selectFrom('deployments')
            .select('model_version_id')
            .where('model_version_id', 'in', served.map((r) => r.id))
            .where('to_time', 'is', null)
            .execute()
        ).map((d) => d.model_version_id),
  );
  const items = served.map(
    (r): VersionSummary => ({
      id: r.id,
      name: r.name,
      version: r.version,
      stage: r.stage,
      owner: r.owner,
      team: r.team,
      kind: r.kind,
      framework: r.framework,
      riskTier: r.risk_tier,
      template: r.template,
      tags: r.tags as string[],
      description: r.description,
      deployed: live.has(r.id),
      createdAt: r.created_at.toISOString(),
      updatedAt: r.updated_at.toISOString(),
    }),
  );
  const last = rows.length > page.limit ? rows[page.limit - 1] : undefined;
  return {
    items,
    nextCursor: last ? encodeCursor({ s: page.sort, o: page.order, v: sortValue(last, page.sort), id: last.id }) : null,
  };
}

export interface DeploymentView {
  readonly deploymentId: string;
  readonly model: string;
  readonly modelVersionId: string;
  readonly target: string;
  readonly strategy: string;
  readonly trafficShare: number;
  readonly from: string;
  readonly to: string | null;
  readonly endReason: string | null;
}

const deploymentView = (d: DeploymentRow): DeploymentView => ({
  deploymentId: d.id,
  model: d.model_name,
  modelVersionId: d.model_version_id,
  target: d.target,
  strategy: d.strategy,
  trafficShare: d.traffic_share,
  from: d.from_time.toISOString(),
  to: d.to_time?.toISOString() ?? null,
  endReason: d.end_reason,
});

export interface ProductionEntry extends DeploymentView {
  /** Who approved the version that was serving, with their comments. */
  readonly approvedBy: { principal: string; comment: string; at: string }[];
}

/** Opaque keyset cursor of production at T: the time asked about and the (model, target, start, id) served last. */
interface ProductionCursor {
  readonly at: string;
  readonly m: string;
  readonly t: string;
  readonly f: string;
  readonly id: string;
}

function decodeProductionCursor(raw: string): ProductionCursor {
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('cursor is not one this API issued');
  }
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new InvalidCursorError('cursor is not one this API issued');
  const { at, m, t, f, id } = c as Partial<Record<keyof ProductionCursor, unknown>>;
  const text = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && !x.includes('\u0000');
  if (!text(at) || !text(m) || !text(t) || !text(f) || !text(id)) throw new InvalidCursorError('cursor is malformed');
  // Any time `toISOString` wrote (including years beyond 9999, which `at` may be).
  if (![at, f].every((x) => !Number.isNaN(Date.parse(x)) && new Date(x).toISOString() === x)) {
    throw new InvalidCursorError('cursor holds a time that is not valid');
  }
  return { at, m, t, f, id };
}

/** Approvals that decided each version, oldest first: one indexed query for a page of deployments. */
async function approvalsOf(db: CatalogDb, versionIds: readonly string[]): Promise<Map<string, ProductionEntry['approvedBy']>> {
  const byVersion = new Map<string, ProductionEntry['approvedBy']>();
  if (versionIds.length === 0) return byVersion;
  const approvals = await db
    .selectFrom('approval_attempts')
    .select(['model_version_id', 'principal', 'comment', 'at'])
    .where('model_version_id', 'in', [...new Set(versionIds)])
    .where('status', '=', 'accepted')
    .where('decision', '=', 'approve')
    .orderBy('at')
    .execute();
  for (const a of approvals) {
    const list = byVersion.get(a.model_version_id) ?? [];
    list.push({ principal: a.principal, comment: a.comment, at: a.at.toISOString() });
    byVersion.set(a.model_version_id, list);
  }
  return byVersion;
}

async function servingAt(db: CatalogDb, at: Date, model: string | undefined, after: ProductionCursor | undefined, limit: number | undefined) {
  let query = db
    .selectFrom('deployments')
    .selectAll()
    // A literal, not a parameter, so the planner can match the partial indexes' `where traffic_share > 0`.
    .where(sql<SqlBool>`traffic_share > 0`)
    // Plain column comparisons, which the planner estimates from its statistics: an ordered walk of
    // deployments_serving_order when many deployments served at T, deployments_time when few did.
    .where('from_time', '<=', at)
    .where((eb) => eb.or([eb('to_time', 'is', null), eb('to_time', '>', at)]));
  if (model) query = query.where('model_name', '=', model);
  if (after) query = query.where(sql<SqlBool>`(model_name, target, from_time, id) > (${after.m}, ${after.t}, ${new Date(after.f)}::timestamptz, ${after.id})`);
  query = query.orderBy('model_name').orderBy('target').orderBy('from_time').orderBy('id');
  const rows = await (limit === undefined ? query : query.limit(limit)).execute();
  const approvals = await approvalsOf(db, rows.map((r) => r.model_version_id));
  return rows.map((r): ProductionEntry => ({ ...deploymentView(r), approvedBy: approvals.get(r.model_version_id) ?? [] }));
}

/**
 * What was in production at time T: deployments serving live traffic (champions and canaries, not shadows)
 * that had started by T and not yet ended. Answered from the deployments history, for one model or for all,
 * in one list; the API pages through the same answer with `productionPage`.
 */
export async function inProductionAt(db: CatalogDb, at: Date, model?: string): Promise<ProductionEntry[]> {
  return servingAt(db, at, model, undefined, undefined);
}

export interface ProductionPageRequest {
  /** The time asked about; a cursor carries the time of the walk it continues. Default: now. */
  readonly at?: Date;
  readonly model?: string;
  readonly limit: number;
  readonly cursor?: string;
}

/**
 * One page of production at T, ordered by (model, target, start, id); `nextCursor` continues the same walk
 * at the same T. A cursor given with a different `at` than it was issued for is refused.
 */
export async function productionPage(
  db: CatalogDb,
  request: ProductionPageRequest,
): Promise<{ at: string; deployments: ProductionEntry[]; nextCursor: string | null }> {
  const after = request.cursor ? decodeProductionCursor(request.cursor) : undefined;
  if (after && request.at && request.at.toISOString() !== after.at) {
    throw new InvalidCursorError('cursor belongs to a different time (at)');
  }
  const at = after ? new Date(after.at) : (request.at ?? new Date());
  const rows = await servingAt(db, at, request.model, after, request.limit + 1);
  const deployments = rows.slice(0, request.limit);
  const last = rows.length > request.limit ? deployments.at(-1) : undefined;
  const cursor: ProductionCursor | undefined = last && { at: at.toISOString(), m: last.model, t: last.target, f: last.from, id: last.deploymentId };
  return { at: at.toISOString(), deployments, nextCursor: cursor ? Buffer.from(JSON.stringify(cursor)).toString('base64url') : null };
}

type LineageRow = Selectable<LineageEdgesTable>;

const lineageView = (e: LineageRow) => ({ kind: e.kind, from: e.from_ref, to: e.to_version_id, detail: e.detail, at: e.at.toISOString() });

/**
 * The version's `retrained_from` edge as a page shows it. Edges written before the trigger and training were
 * carried have only a reason: the rest is null (or empty), never guessed.
 */
function retrainedFromOf(edges: readonly LineageRow[], id: string): RetrainedFromDetail | null {
  const edge = edges.find((e) => e.kind === 'retrained_from' && e.to_version_id === id);
  if (!edge) return null;
  const d = edge.detail as Partial<RetrainedFromDetail> & { reason?: string };
  return {
    reason: d.reason ?? '',
    parent: d.parent ?? edge.from_ref,
    parentWorkflowId: d.parentWorkflowId ?? null,
    trigger: d.trigger ?? null,
    runner: d.runner ?? null,
    runKey: d.runKey ?? null,
    trainingData: d.trainingData ?? [],
    logDigest: d.logDigest ?? null,
  };
}

/** Everything the catalog knows about one model: its versions, deployments, latest reports and lineage. */
export async function modelPage(db: CatalogDb, name: string) {
  const model = await db.selectFrom('models').selectAll().where('name', '=', name).executeTakeFirst();
  if (!model) return null;
  const versions = (await searchVersions(db, { name }, { sort: 'created', order: 'asc', limit: 1000 })).items;
  const ids = versions.map((v) => v.id);
  const [deployments, reports, lineage] = await Promise.all([
    db.selectFrom('deployments').selectAll().where('model_name', '=', name).orderBy('from_time').execute(),
    db
      .selectFrom('reports')
      .distinctOn(['model_version_id', 'kind'])
      .select(['model_version_id', 'kind', 'digest', 'summary', 'at'])
      .where('model_version_id', 'in', ids)
      .orderBy('model_version_id')
      .orderBy('kind')
      .orderBy('at', 'desc')
      .execute(),
    db
      .selectFrom('lineage_edges')
      .selectAll()
      .where((eb) => eb.or([eb('to_version_id', 'in', ids), eb('from_ref', 'in', ids)]))
      .orderBy('at')
      .execute(),
  ]);
  return {
    name: model.name,
    createdAt: model.created_at.toISOString(),
    versions,
    deployments: deployments.map(deploymentView),
    latestReports: reports.map((r) => ({
      modelVersionId: r.model_version_id,
      kind: r.kind,
      digest: r.digest,
      summary: r.summary,
      at: r.at.toISOString(),
    })),
    lineage: lineage.map(lineageView),
  };
}

/** One version in full: manifest, artifacts, schemas, stage history, approvals, reports, deployments, lineage. */
export async function versionPage(db: CatalogDb, id: string) {
  const v = await db.selectFrom('model_versions').selectAll().where('id', '=', id).executeTakeFirst();
  if (!v) return null;
  const [transitions, approvals, reports, deployments, lineage] = await Promise.all([
    db.selectFrom('stage_transitions').selectAll().where('model_version_id', '=', id).orderBy('seq').execute(),
    db.selectFrom('approval_attempts').selectAll().where('model_version_id', '=', id).orderBy('seq').execute(),
    db.selectFrom('reports').selectAll().where('model_version_id', '=', id).orderBy('at').execute(),
    db.selectFrom('deployments').selectAll().where('model_version_id', '=', id).orderBy('from_time').execute(),
    db
      .selectFrom('lineage_edges')
      .selectAll()
      .where((eb) => eb.or([eb('to_version_id', '=', id), eb('from_ref', '=', id)]))
      .orderBy('at')
      .execute(),
  ]);
  return {
    id: v.id,
    stage: v.stage,
    registeredBy: v.registered_by,
    parent: v.parent_id,
    createdAt: v.created_at.toISOString(),
    updatedAt: v.updated_at.toISOString(),
    manifest: v.manifest,
    transitions: transitions.map((t) => ({ seq: t.seq, stage: t.stage, step: t.step, outcome: t.outcome, actor: t.actor, at: t.at.toISOString(), detail: t.detail })),
    approvals: approvals.map((a) => ({
      principal: a.principal,
      roles: a.roles,
      decision: a.decision,
      comment: a.comment,
      status: a.status,
      refusalReason: a.refusal_reason,
      at: a.at.toISOString(),
    })),
    reports: reports.map((r) => ({ kind: r.kind, digest: r.digest, summary: r.summary, at: r.at.toISOString() })),
    deployments: deployments.map(deploymentView),
    /** Where this version came from (parent, trigger and its evidence, runner, run, training data); null unless retrained. */
    retrainedFrom: retrainedFromOf(lineage, id),
    lineage: lineage.map(lineageView),
  };
}

/** How many lifecycles that have not retired run each template version: who a new version's rollout reaches. */
export async function templatesInUse(db: CatalogDb): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('model_versions')
    .select(['template', (eb) => eb.fn.countAll<string>().as('n')])
    .where('stage', '!=', 'retire')
    .groupBy('template')
    .execute();
  return new Map(rows.map((r) => [r.template, Number(r.n)]));
}
