import { defaultPayloadConverter } from '@temporalio/common';
import { admits, isDrift, resolveStatTest } from '../activities/drift/index.js';
import { dutiesOf, judgeAttempt, openGate, type ApprovalRequest, type GateState } from '../core/approval.js';
import { driftColumns } from '../core/drift.js';
import { isDriftJudged, isMonitorStarted, isScanJudged, isWindowJudged, type WindowRef } from '../core/evidence.js';
import { evaluateMetrics, scanPasses } from '../core/gates.js';
import { judgeWindow } from '../core/observation.js';
import { modelVersionId } from '../core/model-id.js';
import { severityAtLeast, type Severity } from '../core/policy.js';
import type { StageTransition } from '../core/stages.js';
import type { ApprovalStep, AutomatedStep, CustomStepActivities, GateStep, MonitorPlan } from '../workflows/dsl/plan.js';
import type { Template } from '../workflows/dsl/index.js';
import { previewScoredTest } from './preview-scoring.js';
import { recordedTransitions, startInputOf, type History } from './run-histories.js';

/**
 * Policy preview: how a candidate template's gates would have decided on the evidence a lifecycle already
 * recorded (the manifest's metrics, the scan's findings, the approval attempts in the order they arrived),
 * so engineers see what a stricter template changes before anyone runs on it. Pure: reads one history.
 */
export type Decision = 'pass' | 'fail' | 'waiting' | 'no-evidence' | 'not-reached';

export interface StepPreview {
  /** `stage/step`, e.g. `test/fairness`. */
  readonly step: string;
  readonly decision: Decision;
  readonly why: string;
}

/** One observed window, judged as recorded and as the candidate's monitor policy would have. */
export interface WindowPreview {
  readonly window: string;
  readonly recorded: readonly string[];
  readonly candidate: readonly string[];
}

/** One window's drift verdict as recorded and as the candidate's drift policy would have judged its statistics. */
export interface DriftPreview {
  readonly window: string;
  readonly recorded: 'passed' | 'drifted';
  readonly candidate: 'passed' | 'drifted' | 'not watched' | 'cannot tell';
  readonly why: string;
}

export interface PolicyPreview {
  readonly modelVersionId: string;
  /** Every observed window the lifecycle recorded, across its runs, with both verdicts' breaches. */
  readonly monitoring: readonly WindowPreview[];
  /** Every drift verdict the lifecycle recorded, re-judged under the candidate's drift policy. */
  readonly drift: readonly DriftPreview[];
  readonly recorded: { readonly template: string; readonly steps: readonly StepPreview[]; readonly deployed: boolean };
  readonly candidate: { readonly template: string; readonly steps: readonly StepPreview[]; readonly wouldDeploy: boolean; readonly stoppedAt: string | null };
  /** One line per difference that matters, most important first. */
  readonly changes: readonly string[];
}

interface Evidence {
  readonly metrics: Readonly<Record<string, number>>;
  readonly scanSeverity: Severity | null;
  readonly transitions: readonly StageTransition[];
  /** Approval requests that arrived while a gate was open, with their time. */
  readonly attempts: readonly { readonly at: number; readonly request: ApprovalRequest }[];
  readonly gateOpenedAt: number | null;
}

function evidenceIn(history: History): Evidence & { input: ReturnType<typeof startInputOf> } {
  const input = startInputOf(history);
  const transitions = recordedTransitions(history);
  const signals: { at: number; request: ApprovalRequest }[] = [];
  for (const event of history.events ?? []) {
    const signal = event.workflowExecutionSignaledEventAttributes;
    if (signal?.signalName === 'approval' && signal.input?.payloads?.[0]) {
      const seconds = Number(event.eventTime?.seconds ?? 0);
      signals.push({ at: seconds * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6), request: defaultPayloadConverter.fromPayload<ApprovalRequest>(signal.input.payloads[0]) });
    }
  }
  const severities = transitions.filter(isScanJudged).map((t) => t.detail.maxSeverity);
  const scanSeverity = severities.length ? severities.reduce((a, b) => (severityAtLeast(a, b) ? a : b)) : null;
  const opened = transitions.find((t) => t.stage === 'approval' && t.outcome === 'entered');
  const gateOpenedAt = opened ? Date.parse(opened.at) : null;
  const attempts = gateOpenedAt === null ? [] : signals.filter((s) => s.at >= gateOpenedAt);
  return { input, metrics: input.manifest.metrics, scanSeverity, transitions, attempts, gateOpenedAt };
}

const label = (stage: string, step?: string) => (step && step !== stage ? `${stage}/${step}` : stage);

function recordedSteps(transitions: readonly StageTransition[]): StepPreview[] {
  const gates = transitions.filter((t) => ['test', 'scan', 'approval'].includes(t.stage) && t.outcome !== 'entered' && t.outcome !== 'escalated');
  return gates.map((t) => ({
    step: label(t.stage, t.step),
    decision: t.outcome === 'passed' ? 'pass' : 'fail',
    why: t.outcome === 'passed' ? 'passed' : `${t.outcome}${'reason' in t.detail && typeof t.detail.reason === 'string' ? `: ${t.detail.reason}` : ''}`,
  }));
}

/** The activities a custom stage may call, answered from the recorded evidence instead of a worker. */
const previewActivities: CustomStepActivities = {
  async evaluateModel(input) {
    const report = evaluateMetrics(input.metrics, input.minMetrics, input.maxMetrics);
    return { passed: report.passed, report: { kind: 'evaluation', digest: 'preview', summary: { ...report } } };
  },
};

function metricsWhy(metrics: Readonly<Record<string, number>>, min: Readonly<Record<string, number>>, max: Readonly<Record<string, number>>): string {
  const report = evaluateMetrics(metrics, min, max);
  const failing = report.checks.filter((c) => !c.passed);
  if (report.checks.length === 0) return 'no metric bounds';
  if (failing.length === 0) return report.checks.map((c) => `${c.metric} ${c.value} ${c.minimum !== undefined ? `≥ ${c.minimum}` : `≤ ${c.maximum}`}`).join(', ');
  return failing
    .map((c) => (c.value === null ? `${c.metric} not reported` : `${c.metric} ${c.value} ${c.minimum !== undefined ? `< min ${c.minimum}` : `> max ${c.maximum}`}`))
    .join(', ');
}

async function previewAutomated(step: AutomatedStep, evidence: Evidence & { input: ReturnType<typeof startInputOf> }): Promise<StepPreview> {
  if (step.kind === 'test') {
    const scored = step.evaluate ? previewScoredTest(step.bounds, step.evaluate, evidence.input.manifest, evidence.transitions) : null;
    if (scored) return { step: label('test', step.name), ...scored };
    const { passed } = evaluateMetrics(evidence.metrics, step.bounds.min, step.bounds.max);
    return { step: label('test', step.name), decision: passed ? 'pass' : 'fail', why: metricsWhy(evidence.metrics, step.bounds.min, step.bounds.max) };
  }
  if (step.kind === 'scan') {
    if (evidence.scanSeverity === null) return { step: label('scan', step.name), decision: 'no-evidence', why: 'the lifecycle recorded no scan' };
    const passed = scanPasses(evidence.scanSeverity, step.blockAt);
    return { step: label('scan', step.name), decision: passed ? 'pass' : 'fail', why: `worst finding ${evidence.scanSeverity}, blocks at ${step.blockAt}` };
  }
  try {
    const { manifest } = evidence.input;
    const verdict = await step.run({ manifest, modelVersionId: modelVersionId(manifest), activities: previewActivities });
    return { step: label(step.phase, step.name), decision: verdict.passed ? 'pass' : 'fail', why: verdict.reason };
  } catch (err) {
    return { step: label(step.phase, step.name), decision: 'no-evidence', why: `custom stage could not run outside a lifecycle: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Re-judges the recorded approval attempts, in arrival order, under the candidate's gate. */
function previewApproval(step: ApprovalStep, evidence: Evidence & { input: ReturnType<typeof startInputOf> }): StepPreview {
  const name = label('approval', step.name);
  if (evidence.gateOpenedAt === null) return { step: name, decision: 'no-evidence', why: 'the lifecycle never reached an approval gate' };
  const { policy } = step;
  // Today's separation-of-duties rules, whatever rules the recorded lifecycle ran under.
  const context = { policy, ...dutiesOf(evidence.input, { authenticatedTeams: true }) };
  const expiresAt = policy.deadline ? evidence.gateOpenedAt + policy.deadline.timeoutMs : Infinity;
  let gate: GateState | null = openGate(policy);
  for (const { at, request } of evidence.attempts) {
    if (at > expiresAt) return { step: name, decision: 'fail', why: `no decision within the candidate's ${policy.deadline!.timeoutMs} ms deadline` };
    const judged = judgeAttempt(gate, request, context);
    gate = judged.gate;
    if (judged.verdict.status === 'accepted') {
      const by = gate?.counted.map((c) => c.principal).join(', ') || request.principal.id;
      return judged.verdict.decision === 'approve'
        ? { step: name, decision: 'pass', why: `approved by ${by}` }
        : { step: name, decision: 'fail', why: `rejected by ${request.principal.id}: ${request.comment}` };
    }
  }
  const counted = gate?.counted.map((c) => c.principal) ?? [];
  return {
    step: name,
    decision: 'waiting',
    why: `${counted.length} of ${policy.quorum} approvals from ${policy.groups.join(', ')}${counted.length ? ` (${counted.join(', ')})` : ''}; the recorded attempts are not enough`,
  };
}

async function previewGate(step: GateStep, evidence: Evidence & { input: ReturnType<typeof startInputOf> }): Promise<StepPreview[]> {
  if (step.kind === 'approval') return [previewApproval(step, evidence)];
  if (step.kind === 'parallel') return Promise.all(step.steps.map((s) => previewAutomated(s, evidence)));
  return [await previewAutomated(step, evidence)];
}

const windowLabel = (w: WindowRef) => `${w.id} (${w.start} – ${w.end})`;

/** Re-judges every window the lifecycle's runs recorded under the candidate's KPI ranges and error-rate ceiling. */
function previewWindows(transitions: readonly StageTransition[], monitor: MonitorPlan): WindowPreview[] {
  return transitions
    .filter(isWindowJudged)
    .map(({ detail: d }) => ({ window: windowLabel(d.window), recorded: d.breaches, candidate: judgeWindow(d, monitor).breaches }));
}

/**
 * Re-judges every recorded drift verdict under the candidate's drift policy, from the per-column statistics
 * history holds: a column is re-judged when the candidate would run the same test on it (at the candidate's
 * threshold), the dataset at the candidate's column share. Another test would need the samples themselves.
 */
function previewDrift(transitions: readonly StageTransition[], policy: MonitorPlan['drift'], manifest: Parameters<Template['plan']>[0]): DriftPreview[] {
  // The recorded policy, from the transition that started monitoring: its `auto` columns ran their defaults.
  const recordedPolicy = transitions.filter(isMonitorStarted)[0]?.detail.drift;
  const kinds = new Map(driftColumns(manifest.inputSchema).map((c) => [c.name, c.kind]));
  return transitions
    .filter(isDriftJudged)
    .map((t): DriftPreview => {
      const d = t.detail;
      const base = { window: windowLabel(d.window), recorded: t.outcome };
      if (!policy) return { ...base, candidate: 'not watched', why: 'the candidate has no drift policy' };
      if (d.columns.length < d.columnsCompared) return { ...base, candidate: 'cannot tell', why: 'history holds only some columns; the full report has the rest' };
      const rejudged = d.columns.map((c) => {
        const kind = kinds.get(c.column);
        if (!kind) return null;
        const ranDefault = !recordedPolicy || recordedPolicy.stattest === 'auto' || !admits(recordedPolicy.stattest, kind);
        if (!ranDefault && !(policy.stattest !== 'auto' && admits(policy.stattest, kind))) return null;
        const chosen = resolveStatTest(policy.stattest, policy.threshold, kind, () => c.stattest);
        return chosen.stattest === c.stattest ? isDrift(c.stattest, c.statistic, chosen.threshold) : null;
      });
      if (rejudged.includes(null)) return { ...base, candidate: 'cannot tell', why: `the candidate runs ${policy.stattest}; recomputing needs the samples` };
      const drifted = rejudged.filter(Boolean).length;
      const share = d.columnsCompared ? drifted / d.columnsCompared : 0;
      const verdict = share >= policy.columnShare ? 'drifted' : 'passed';
      return { ...base, candidate: verdict, why: `${drifted} of ${d.columnsCompared} columns drift (share ${round(share)} ${verdict === 'drifted' ? '≥' : '<'} ${policy.columnShare})` };
    });
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Previews `candidate` on a lifecycle's runs, oldest first: its gates on the first run (where they were
 * decided), its monitor policy on every observed window of every run.
 */
export async function previewPolicy(runs: readonly History[], candidate: Template): Promise<PolicyPreview> {
  const [firstRun] = runs;
  if (!firstRun) throw new TypeError('a policy preview needs at least the first run of a lifecycle');
  const evidence = evidenceIn(firstRun);
  const { manifest } = evidence.input;
  const plan = candidate.plan(manifest);

  const steps: StepPreview[] = [];
  let stoppedAt: string | null = null;
  for (const gate of plan.gates) {
    const previews = await previewGate(gate, evidence);
    steps.push(...previews.map((p) => (stoppedAt ? { ...p, decision: 'not-reached' as const, why: `after ${stoppedAt}; alone: ${p.decision}, ${p.why}` } : p)));
    stoppedAt ??= previews.find((p) => p.decision !== 'pass')?.step ?? null;
  }
  const recorded = recordedSteps(evidence.transitions);
  const deployed = evidence.transitions.some((t) => t.stage === 'deploy' && t.outcome === 'passed' && (t.step === undefined || t.step === 'deploy'));
  const wouldDeploy = stoppedAt === null;

  const changes: string[] = [];
  if (deployed && !wouldDeploy) {
    const at = steps.find((s) => s.step === stoppedAt)!;
    changes.push(`would NOT have deployed: ${at.step} ${at.decision === 'waiting' ? 'would still be waiting' : at.decision === 'fail' ? 'would fail' : 'has no evidence'} (${at.why})`);
  } else if (!deployed && wouldDeploy) {
    changes.push('would have deployed, where the recorded lifecycle did not');
  }
  for (const s of steps) {
    const before = recorded.find((r) => r.step === s.step);
    if (!before) changes.push(`${s.step}: new gate, ${s.decision} (${s.why})`);
    else if (before.decision !== s.decision) changes.push(`${s.step}: ${before.decision} → ${s.decision} (${s.why})`);
  }
  for (const r of recorded) if (!steps.some((s) => s.step === r.step)) changes.push(`${r.step}: gate dropped (recorded ${r.decision})`);
  // Every run's transitions, decoded once for both monitor previews.
  const transitions = runs.flatMap(recordedTransitions);
  const monitoring = previewWindows(transitions, plan.monitor);
  for (const w of monitoring) {
    const verdict = (b: readonly string[]) => (b.length ? `breached (${b.join('; ')})` : 'passed');
    if (verdict(w.recorded) !== verdict(w.candidate)) changes.push(`window ${w.window}: ${verdict(w.recorded)} → ${verdict(w.candidate)}`);
  }
  const drift = previewDrift(transitions, plan.monitor.drift, manifest);
  for (const w of drift) if (w.recorded !== w.candidate) changes.push(`drift in window ${w.window}: ${w.recorded} → ${w.candidate} (${w.why})`);

  return {
    modelVersionId: modelVersionId(manifest),
    monitoring,
    drift,
    recorded: { template: evidence.input.template ?? 'inline', steps: recorded, deployed },
    candidate: { template: candidate.ref, steps, wouldDeploy, stoppedAt },
    changes,
  };
}

export function formatPreview(p: PolicyPreview): string {
  const rows = (steps: readonly StepPreview[]) => steps.map((s) => `    ${s.decision.padEnd(11)} ${s.step}: ${s.why}`).join('\n');
  return [
    `Policy preview for ${p.modelVersionId}`,
    `  recorded under ${p.recorded.template}: ${p.recorded.deployed ? 'deployed' : 'not deployed'}`,
    rows(p.recorded.steps),
    `  candidate ${p.candidate.template}: ${p.candidate.wouldDeploy ? 'would deploy' : `would stop at ${p.candidate.stoppedAt}`}`,
    rows(p.candidate.steps),
    `  observed windows: ${p.monitoring.length}, breaching as recorded ${p.monitoring.filter((w) => w.recorded.length).length}, under the candidate ${p.monitoring.filter((w) => w.candidate.length).length}`,
    `  drift verdicts: ${p.drift.length}, drifted as recorded ${p.drift.filter((w) => w.recorded === 'drifted').length}, under the candidate ${p.drift.filter((w) => w.candidate === 'drifted').length}`,
    '  changes:',
    ...(p.changes.length ? p.changes.map((c) => `    - ${c}`) : ['    (none)']),
    '',
  ].join('\n');
}
