import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import type { RecordApprovalAttemptInput, RegisterVersionInput } from '../catalog/projection.js';
import type { DeployInput, EndDeploymentInput } from '../core/deployment.js';
import { isDriftStep, isWindowJudged } from '../core/evidence.js';
import { retrainedFromDetail, type RetrainedFromDetail } from '../core/retrain-lineage.js';
import type { StageTransition } from '../core/stages.js';
import { lifecycleFacts, runFacts } from './bundle-facts.js';

/**
 * The lineage of a model, derived from its histories alone: what each lifecycle recorded through its
 * activities (registration, stage transitions with their evidence, approval attempts, deployments) and how
 * the lifecycles are linked. Nothing here reads the catalog, so it can be checked against it.
 */
export interface LineageReport {
  readonly subject: string;
  readonly versions: readonly VersionLineage[];
  readonly deployments: readonly DeploymentSpan[];
}

export interface VersionLineage {
  readonly modelVersionId: string;
  readonly workflowId: string;
  readonly registeredBy: string;
  readonly registeredAt: string;
  /** The parent and, as the catalog's `retrained_from` edge has it, the trigger, runner, run and training data. */
  readonly parent: ({ readonly modelVersionId: string } & Omit<RetrainedFromDetail, 'parent'>) | null;
  /** Template versions the lifecycle ran, in order (more than one after a migration). */
  readonly templates: readonly string[];
  readonly runs: number;
  readonly stages: readonly StageTransition[];
  readonly approvals: readonly {
    readonly seq: number;
    readonly at: string;
    readonly principal: string;
    readonly roles: readonly string[];
    readonly decision: string;
    readonly comment: string;
    readonly verdict: RecordApprovalAttemptInput['attempt']['verdict'];
  }[];
}

export interface DeploymentSpan {
  readonly deploymentId: string;
  readonly modelVersionId: string;
  readonly target: string;
  /** `replace` for the champion; `shadow` and `canary` for the phases before it. */
  readonly strategy: 'replace' | 'shadow' | 'canary';
  readonly trafficShare: number;
  readonly from: string;
  readonly to: string | null;
  readonly endReason: string | null;
}

type Scheduled = { activity: string; input: unknown };

function scheduledActivities(historyJson: unknown): Scheduled[] {
  const history = historyFromJSON(historyJson);
  return (history.events ?? []).flatMap((event) => {
    const attrs = event.activityTaskScheduledEventAttributes;
    const payload = attrs?.input?.payloads?.[0];
    return attrs?.activityType?.name && payload ? [{ activity: attrs.activityType.name, input: defaultPayloadConverter.fromPayload(payload) }] : [];
  });
}

/** What lineage reads of a bundle: the histories only, never what the bundle claims about them. */
export interface LineageSource {
  readonly lifecycles: readonly { readonly runs: readonly { readonly history: { readonly events: readonly unknown[] } }[] }[];
}

export function lineageOf(bundle: LineageSource): LineageReport {
  const deploys: (DeployInput & { modelVersionId: string })[] = [];
  const ends: EndDeploymentInput[] = [];
  const versions = bundle.lifecycles.map((lifecycle): VersionLineage => {
    const facts = lifecycleFacts(lifecycle.runs.map((r) => runFacts(r.history)));
    const scheduled = lifecycle.runs.flatMap((r) => scheduledActivities(r.history));
    const inputs = <T>(name: string) => scheduled.filter((s) => s.activity === name).map((s) => s.input as T);
    const registration = inputs<RegisterVersionInput>('registerVersion')[0];
    deploys.push(...inputs<DeployInput>('deployVersion'));
    ends.push(...inputs<EndDeploymentInput>('endDeployment'));
    return {
      modelVersionId: facts.modelVersionId,
      workflowId: facts.workflowId,
      registeredBy: registration?.registeredBy.id ?? 'unknown',
      registeredAt: registration?.at ?? '',
      parent: registration?.lineage ? parentOf(registration) : null,
      templates: facts.templates,
      runs: lifecycle.runs.length,
      stages: inputs<StageTransition>('recordStage'),
      approvals: inputs<RecordApprovalAttemptInput>('recordApprovalAttempt').map(({ seq, attempt }) => ({
        seq,
        at: attempt.at,
        principal: attempt.request.principal.id,
        roles: attempt.request.principal.roles,
        decision: attempt.request.decision,
        comment: attempt.request.comment,
        verdict: attempt.verdict,
      })),
    };
  });

  // A champion ends when a later champion takes its model's place on the target, or when its lifecycle ends it;
  // a shadow or canary phase ends only when its lifecycle ends it.
  const ordered = [...deploys].sort((a, b) => a.at.localeCompare(b.at));
  const isChampion = (d: DeployInput) => (d.strategy ?? 'replace') === 'replace';
  const deployments = ordered.map((d): DeploymentSpan => {
    const replacement = isChampion(d)
      ? ordered.find((n) => n.at >= d.at && n.deploymentId !== d.deploymentId && isChampion(n) && n.modelName === d.modelName && n.target === d.target)
      : undefined;
    const ended = ends.filter((e) => e.deploymentId === d.deploymentId).sort((a, b) => a.at.localeCompare(b.at))[0];
    const end =
      replacement && (!ended || replacement.at <= ended.at)
        ? { to: replacement.at, endReason: `replaced by ${replacement.modelVersionId}` }
        : ended
          ? { to: ended.at, endReason: ended.reason }
          : { to: null, endReason: null };
    const strategy = d.strategy ?? 'replace';
    const trafficShare = strategy === 'replace' ? 1 : (d.trafficShare ?? 0);
    return { deploymentId: d.deploymentId, modelVersionId: d.modelVersionId, target: d.target, strategy, trafficShare, from: d.at, ...end };
  });
  return { subject: versions[0]?.modelVersionId ?? '', versions, deployments };
}

function parentOf(registration: RegisterVersionInput): NonNullable<VersionLineage['parent']> {
  const { parent, ...rest } = retrainedFromDetail(registration.lineage!, registration.registeredBy.id);
  return { modelVersionId: parent, ...rest };
}

/** How a version was retrained, in one line: trigger and evidence, runner and run, training data. */
function retrainedLine(p: NonNullable<VersionLineage['parent']>): string | null {
  const parts = [
    ...(p.trigger ? [`trigger ${p.trigger.kind}: ${p.trigger.evidence}`] : []),
    ...(p.runner ? [`${p.runner} runner, run ${p.runKey}`] : []),
    ...(p.trainingData.length ? [`trained on ${p.trainingData.join(', ')}`] : []),
  ];
  return parts.length ? `  ${parts.join('; ')}` : null;
}

/** The same report for people: one block per version, then the deployment timeline. */
export function formatLineage(report: LineageReport): string {
  const lines = [`Lineage of ${report.subject} (from lifecycle histories)`];
  for (const v of report.versions) {
    lines.push(
      '',
      `${v.modelVersionId}  registered by ${v.registeredBy} at ${v.registeredAt}${v.parent ? `, retrained from ${v.parent.modelVersionId}: ${v.parent.reason}` : ''}  (template ${v.templates.join(' → ')}, ${v.runs} run${v.runs === 1 ? '' : 's'})`,
    );
    const retrained = v.parent && retrainedLine(v.parent);
    if (retrained) lines.push(retrained);
    for (const s of v.stages) {
      const evidence = s.report ? `  [${s.report.kind} ${s.report.digest.slice(0, 12)}: ${JSON.stringify(s.report.summary)}]` : '';
      const stage = s.step && s.step !== s.stage ? `${s.stage}/${s.step}` : s.stage;
      lines.push(`  ${s.at}  ${stage.padEnd(8)} ${s.outcome.padEnd(9)} by ${s.actor}  ${JSON.stringify(s.detail)}${evidence}`);
    }
    for (const a of v.approvals) {
      const verdict = a.verdict.status === 'refused' ? `refused (${a.verdict.reason})` : a.verdict.status;
      lines.push(`  ${a.at}  approval attempt by ${a.principal} [${a.roles.join(', ')}]: ${a.decision} → ${verdict}${a.comment ? ` — "${a.comment}"` : ''}`);
    }
  }
  lines.push('', 'Deployments');
  for (const d of report.deployments) {
    const how = d.strategy === 'replace' ? '' : ` as ${d.strategy} (${Math.round(d.trafficShare * 100)}% of traffic)`;
    lines.push(`  ${d.modelVersionId} on ${d.target}${how}: ${d.from} → ${d.to ?? 'live'}${d.endReason ? ` (${d.endReason})` : ''}`);
  }
  return lines.join('\n');
}

/**
 * What was in production at `at`, who approved it, on which evidence, how its monitoring stood (the last
 * observed window judged by then) and its feature drift status then — answered from histories alone.
 */
export function productionAt(report: LineageReport, at: Date) {
  const t = at.toISOString();
  // Serving live traffic: champions and canaries, not shadows (the same rule as the catalog's answer).
  return report.deployments
    .filter((d) => d.trafficShare > 0 && d.from <= t && (d.to === null || d.to > t))
    .map((d) => {
      const version = report.versions.find((v) => v.modelVersionId === d.modelVersionId);
      return {
        ...d,
        approvedBy: (version?.approvals ?? []).filter((a) => a.decision === 'approve' && a.verdict.status !== 'refused').map((a) => ({ principal: a.principal, comment: a.comment, at: a.at })),
        evidence: (version?.stages ?? []).flatMap((s) => (s.report && s.at <= t ? [s.report] : [])),
        monitoring: lastJudgedWindow(version?.stages ?? [], t),
        drift: lastDriftVerdict(version?.stages ?? [], t),
      };
    });
}

/** The last of some transitions recorded by `t`. */
const lastBy = <T extends StageTransition>(stages: readonly T[], t: string) => stages.filter((s) => s.at <= t).at(-1);

function lastJudgedWindow(stages: readonly StageTransition[], t: string) {
  const judged = lastBy(stages.filter(isWindowJudged), t);
  if (!judged) return null;
  const { window, breaches } = judged.detail;
  return { at: judged.at, outcome: judged.outcome, window, breaches };
}

/** The last feature-drift verdict recorded by `t`: drifted or not, by how much, and on which window's sample. */
function lastDriftVerdict(stages: readonly StageTransition[], t: string) {
  const judged = lastBy(stages.filter(isDriftStep), t);
  if (!judged) return null;
  const d = judged.detail;
  const compared = 'problem' in d ? null : d;
  return {
    at: judged.at,
    outcome: judged.outcome,
    window: d.window,
    sample: d.sample,
    share: compared?.share ?? null,
    columnShare: compared?.columnShare ?? null,
    columnsCompared: compared?.columnsCompared ?? null,
    driftedColumns: compared?.driftedColumns ?? [],
    ...('problem' in d ? { problem: d.problem } : {}),
    report: judged.report?.digest ?? null,
  };
}
