import type { GateOpenedDetail } from '../core/evidence.js';
import { jsonDiff, type JsonChange } from '../core/json-diff.js';
import type { ModelManifest } from '../core/manifest.js';
import { approverGroups, type Principal } from '../core/principal.js';
import { sql, type SqlBool } from 'kysely';
import type { CatalogDb } from './db.js';
import { InvalidCursorError } from './inventory.js';

/** What an approver needs to decide: the gate, who has approved so far, the evidence, and the champion diff. */
export interface InboxItem {
  readonly modelVersionId: string;
  readonly name: string;
  readonly version: string;
  readonly owner: string;
  readonly team: string;
  readonly riskTier: string;
  readonly registeredBy: string;
  readonly waitingSince: string;
  readonly gate: {
    readonly groups: readonly string[];
    readonly quorum: number;
    readonly approvals: readonly string[];
    readonly deadline: string | null;
  };
  readonly evidence: {
    readonly metrics: Readonly<Record<string, number>>;
    readonly reports: readonly { kind: string; digest: string; summary: unknown }[];
    /** The live version of the same model on the same target, and what differs from it. */
    readonly champion: { readonly modelVersionId: string; readonly changes: readonly JsonChange[] } | null;
  };
}

/** The gate's latest opening or escalation (an escalation records groups, quorum and deadline only). */
type GateDetail = Partial<GateOpenedDetail>;

/** Fields of the manifest an approver compares against the champion; identity fields would always differ. */
const COMPARED: (keyof ModelManifest)[] = ['metrics', 'artifacts', 'inputSchema', 'outputSchema', 'dependencies', 'trainingData', 'framework', 'riskTier'];
const compared = (m: ModelManifest) => Object.fromEntries(COMPARED.map((k) => [k, m[k]]));

/** Opaque keyset cursor of the inbox: the last change time and id of the last version served. */
interface InboxCursor {
  readonly u: string;
  readonly id: string;
}

function decodeInboxCursor(raw: string): InboxCursor {
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('cursor is not one this API issued');
  }
  const { u, id } = (typeof c === 'object' && c !== null && !Array.isArray(c) ? c : {}) as Partial<Record<keyof InboxCursor, unknown>>;
  if (typeof u !== 'string' || typeof id !== 'string' || id.length === 0 || id.includes('\u0000')) throw new InvalidCursorError('cursor is malformed');
  if (Number.isNaN(Date.parse(u)) || new Date(u).toISOString() !== u) throw new InvalidCursorError('cursor holds a time that is not valid');
  return { u, id };
}

/** A JSON array of strings as a PostgreSQL text[] (through jsonb, which PostgreSQL and PGlite both accept as a parameter). */
const textArray = (xs: readonly string[]) => sql`array(select jsonb_array_elements_text(${JSON.stringify(xs)}::jsonb))`;

export interface InboxPageRequest {
  readonly limit: number;
  readonly cursor?: string;
}

/**
 * Pending approval gates the caller may decide: open gates naming one of the caller's approver groups, not
 * registered by the caller, not owned by the caller's team where the gate excludes it, and not yet approved
 * by the caller. The workflow still judges every attempt; this is the view, not the rule.
 *
 * The rule is applied in SQL against each waiting version's latest gate opening or escalation, in the order
 * the versions last changed (keyset-paginated), so only one page of versions is read and enriched.
 */
export async function approvalInbox(
  db: CatalogDb,
  caller: Principal,
  page: InboxPageRequest = { limit: 50 },
): Promise<{ items: InboxItem[]; nextCursor: string | null }> {
  const after = page.cursor ? decodeInboxCursor(page.cursor) : undefined;
  const groups = approverGroups(caller);
  if (groups.length === 0) return { items: [], nextCursor: null };
  let query = db
    .selectFrom('model_versions as v')
    .innerJoinLateral(
      (eb) =>
        eb
          .selectFrom('stage_transitions as s')
          .select(['s.detail', 's.at'])
          .whereRef('s.model_version_id', '=', 'v.id')
          .where('s.stage', '=', 'approval')
          .where('s.outcome', 'in', ['entered', 'escalated'])
          .orderBy('s.seq', 'desc')
          .limit(1)
          .as('g'),
      (join) => join.onTrue(),
    )
    // The columns the item needs (not the search vector, which `selectAll` would ship and parse).
    .select(['v.id', 'v.name', 'v.version', 'v.owner', 'v.team', 'v.risk_tier', 'v.registered_by', 'v.manifest', 'v.deployment_target', 'v.updated_at'])
    .select(['g.detail as gate', 'g.at as gate_at'])
    .where('v.stage', '=', 'approval')
    .where(sql<SqlBool>`jsonb_exists_any(g.detail -> 'groups', ${textArray(groups)})`)
    .where(sql<SqlBool>`not jsonb_exists(coalesce(nullif(g.detail -> 'authors', 'null'::jsonb), jsonb_build_array(v.registered_by)), ${caller.id})`)
    .where(
      sql<SqlBool>`not (coalesce(g.detail ->> 'excludeOwningTeam', 'false') = 'true'
        and jsonb_exists_any(coalesce(nullif(g.detail -> 'owningTeams', 'null'::jsonb), jsonb_build_array(v.team)), ${textArray(caller.teams ?? [])}))`,
    )
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('approval_attempts as a')
            .select(sql<number>`1`.as('one'))
            .whereRef('a.model_version_id', '=', 'v.id')
            .where('a.principal', '=', caller.id)
            .where('a.status', 'in', ['counted', 'accepted'])
            .where('a.decision', '=', 'approve'),
        ),
      ),
    );
  if (after) query = query.where(sql<SqlBool>`(v.updated_at, v.id) > (${new Date(after.u)}::timestamptz, ${after.id})`);
  const rows = await query.orderBy('v.updated_at').orderBy('v.id').limit(page.limit + 1).execute();
  const waiting = rows.slice(0, page.limit);
  const last = rows.length > page.limit ? waiting.at(-1) : undefined;
  const nextCursor = last ? Buffer.from(JSON.stringify({ u: last.updated_at.toISOString(), id: last.id } satisfies InboxCursor)).toString('base64url') : null;
  if (waiting.length === 0) return { items: [], nextCursor };

  const ids = waiting.map((v) => v.id);
  const [approvals, reports, champions] = await Promise.all([
    db
      .selectFrom('approval_attempts')
      .select(['model_version_id', 'principal'])
      .where('model_version_id', 'in', ids)
      .where('status', 'in', ['counted', 'accepted'])
      .where('decision', '=', 'approve')
      .orderBy('model_version_id')
      .orderBy('seq')
      .execute(),
    db
      .selectFrom('reports')
      .distinctOn(['model_version_id', 'kind'])
      .select(['model_version_id', 'kind', 'digest', 'summary'])
      .where('model_version_id', 'in', ids)
      .orderBy('model_version_id')
      .orderBy('kind')
      .orderBy('at', 'desc')
      .execute(),
    db
      .selectFrom('deployments as d')
      .innerJoin('model_versions as v', 'v.id', 'd.model_version_id')
      .select(['d.model_name', 'd.target', 'v.id', 'v.manifest'])
      .where('d.to_time', 'is', null)
      .where('d.strategy', '=', 'replace')
      .where('d.model_name', 'in', [...new Set(waiting.map((v) => v.name))])
      .execute(),
  ]);
  const approversOf = groupBy(approvals, (a) => a.model_version_id);
  const reportsOf = groupBy(reports, (r) => r.model_version_id);

  const items = waiting.map((v): InboxItem => {
    const detail = v.gate as GateDetail;
    const manifest = v.manifest as ModelManifest;
    const champion = champions.find((c) => c.model_name === v.name && c.target === v.deployment_target && c.id !== v.id);
    return {
      modelVersionId: v.id,
      name: v.name,
      version: v.version,
      owner: v.owner,
      team: v.team,
      riskTier: v.risk_tier,
      registeredBy: v.registered_by,
      waitingSince: v.gate_at.toISOString(),
      gate: {
        groups: detail.groups ?? [],
        quorum: detail.quorum ?? 1,
        approvals: (approversOf.get(v.id) ?? []).map((a) => a.principal),
        deadline: detail.deadline ?? null,
      },
      evidence: {
        metrics: manifest.metrics,
        reports: (reportsOf.get(v.id) ?? []).map((r) => ({ kind: r.kind, digest: r.digest, summary: r.summary })),
        champion: champion
          ? { modelVersionId: champion.id, changes: jsonDiff(compared(champion.manifest as ModelManifest), compared(manifest)) }
          : null,
      },
    };
  });
  return { items, nextCursor };
}

function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const row of rows) {
    const list = map.get(key(row));
    if (list) list.push(row);
    else map.set(key(row), [row]);
  }
  return map;
}
