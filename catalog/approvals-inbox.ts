import type { GateOpenedDetail } from '../core/evidence.js';
import { jsonDiff, type JsonChange } from '../core/json-diff.js';
import type { ModelManifest } from '../core/manifest.js';
import { approverGroups, type Principal } from '../core/principal.js';
import type { CatalogDb } from './db.js';

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

/**
 * Pending approval gates the caller may decide: open gates naming one of the caller's approver groups, not
 * registered by the caller, not owned by the caller's team where the gate excludes it, and not yet approved
 * by the caller. The workflow still judges every attempt; this is the view, not the rule.
 */
export async function approvalInbox(db: CatalogDb, caller: Principal): Promise<InboxItem[]> {
  const waiting = await db.selectFrom('model_versions').selectAll().where('stage', '=', 'approval').orderBy('updated_at').execute();
  if (waiting.length === 0) return [];
  const ids = waiting.map((v) => v.id);
  const [gates, approvals, reports, champions] = await Promise.all([
    db
      .selectFrom('stage_transitions')
      .distinctOn('model_version_id')
      .select(['model_version_id', 'detail', 'at'])
      .where('model_version_id', 'in', ids)
      .where('stage', '=', 'approval')
      .where('outcome', 'in', ['entered', 'escalated'])
      .orderBy('model_version_id')
      .orderBy('seq', 'desc')
      .execute(),
    db
      .selectFrom('approval_attempts')
      .select(['model_version_id', 'principal'])
      .where('model_version_id', 'in', ids)
      .where('status', 'in', ['counted', 'accepted'])
      .where('decision', '=', 'approve')
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
      .where('d.model_name', 'in', waiting.map((v) => v.name))
      .execute(),
  ]);

  const mine = new Set(approverGroups(caller));
  return waiting.flatMap((v): InboxItem[] => {
    const gate = gates.find((g) => g.model_version_id === v.id);
    const detail = (gate?.detail ?? {}) as GateDetail;
    const groups = detail.groups ?? [];
    const approvers = approvals.filter((a) => a.model_version_id === v.id).map((a) => a.principal);
    const mayDecide =
      groups.some((g) => mine.has(g)) &&
      !(detail.authors ?? [v.registered_by]).includes(caller.id) &&
      !(detail.excludeOwningTeam && (caller.teams ?? []).some((t) => (detail.owningTeams ?? [v.team]).includes(t))) &&
      !approvers.includes(caller.id);
    if (!mayDecide) return [];
    const manifest = v.manifest as ModelManifest;
    const champion = champions.find((c) => c.model_name === v.name && c.target === v.deployment_target && c.id !== v.id);
    return [
      {
        modelVersionId: v.id,
        name: v.name,
        version: v.version,
        owner: v.owner,
        team: v.team,
        riskTier: v.risk_tier,
        registeredBy: v.registered_by,
        waitingSince: (gate?.at ?? v.updated_at).toISOString(),
        gate: { groups, quorum: detail.quorum ?? 1, approvals: approvers, deadline: detail.deadline ?? null },
        evidence: {
          metrics: manifest.metrics,
          reports: reports.filter((r) => r.model_version_id === v.id).map((r) => ({ kind: r.kind, digest: r.digest, summary: r.summary })),
          champion: champion
            ? { modelVersionId: champion.id, changes: jsonDiff(compared(champion.manifest as ModelManifest), compared(manifest)) }
            : null,
        },
      },
    ];
  });
}
