import type { z } from './zod.js';
import type { ModelManifest } from '../../core/manifest.js';
import { TEMPLATE_NAME_PATTERN } from '../../core/names.js';
import type { ApprovalPolicy } from '../../core/policy.js';
import { stageOptions, type StageOptions } from './options.js';
import type { AutomatedStep, GateStep, LifecyclePlan, StepContext, StepVerdict } from './plan.js';

/**
 * The template DSL. A template is a name, a version and a function from the manifest to a declaration of
 * typed stages; the declaration is plain TypeScript, so conditions on the manifest, custom stages and
 * parallel gates need no special syntax. Options are checked by zod when the template is loaded.
 *
 * @example
 * export default defineTemplate({
 *   name: 'standard',
 *   version: 1,
 *   description: 'Metrics, scan, one risk approver, straight to production.',
 *   lifecycle: (manifest) => ({
 *     gates: [stage.test({ min: { auc: 0.75 } }), stage.scan(), stage.approval({ groups: ['risk'] })],
 *     monitor: stage.monitor({ every: '1h' }),
 *   }),
 * });
 */

type Named = { readonly name?: string };
interface Decl<K extends string, O> {
  readonly kind: K;
  readonly name: string;
  readonly options: O;
}

export type TestDecl = Decl<'test', z.input<StageOptions['testOptions']>>;
export type ScanDecl = Decl<'scan', z.input<StageOptions['scanOptions']>>;
export type ApprovalDecl = Decl<'approval', z.input<StageOptions['approvalOptions']>>;
export type CustomDecl = Decl<'custom', z.input<StageOptions['customOptions']>> & { readonly run: (ctx: StepContext) => Promise<StepVerdict> };
export type ParallelDecl = Decl<'parallel', null> & { readonly steps: readonly (TestDecl | ScanDecl | CustomDecl)[] };
export type GateDecl = TestDecl | ScanDecl | ApprovalDecl | CustomDecl | ParallelDecl;
export type PhaseDecl = { readonly mode: 'shadow'; readonly options: z.input<StageOptions['shadowOptions']> } | { readonly mode: 'canary'; readonly options: z.input<StageOptions['canaryOptions']> };
export type DeployDecl = Decl<'deploy', { readonly phases: readonly PhaseDecl[] }>;
export type MonitorDecl = Decl<'monitor', z.input<StageOptions['monitorOptions']>>;
export type RetrainDecl = Decl<'retrain', z.input<StageOptions['retrainOptions']>>;
export type RetireDecl = Decl<'retire', z.input<StageOptions['retireOptions']>>;

/** What a template's `lifecycle` function returns: the stages in order, each with its options. */
export interface LifecycleSpec {
  /** Gates before deployment, in order. The first that fails ends the lifecycle. */
  readonly gates: readonly GateDecl[];
  readonly deploy?: DeployDecl;
  readonly monitor: MonitorDecl;
  readonly retrain?: RetrainDecl;
  readonly retire?: RetireDecl;
}

function named<O extends Named>(kind: string, options: O | undefined): { name: string; options: Omit<O, 'name'> } {
  const { name, ...rest } = options ?? ({} as O);
  return { name: name ?? kind, options: rest };
}

/** The stage builders, used as `stage.test(...)`, `stage.approval(...)` and so on. */
export const stage = {
  /** Metric gate: each `min` metric must reach its bound, each `max` metric must stay under it; missing fails. */
  test: (options?: TestDecl['options'] & Named): TestDecl => ({ kind: 'test', ...named('test', options) }),
  /** Security scan of the artifacts: findings at or above `blockAt` end the lifecycle. */
  scan: (options?: ScanDecl['options'] & Named): ScanDecl => ({ kind: 'scan', ...named('scan', options) }),
  /** The human gate: a quorum of distinct approvers from the groups, with optional deadline and escalation. */
  approval: (options: ApprovalDecl['options'] & Named): ApprovalDecl => ({ kind: 'approval', ...named('approval', options) }),
  /** Any logic in plain TypeScript, run inside the workflow; it may call activities through its context. */
  custom: (name: string, options: CustomDecl['options'], run: CustomDecl['run']): CustomDecl => ({ kind: 'custom', name, options, run }),
  /** Automated gates run side by side; all must pass. */
  parallel: (name: string, steps: ParallelDecl['steps']): ParallelDecl => ({ kind: 'parallel', name, options: null, steps }),
  deploy: (options?: { readonly phases?: readonly PhaseDecl[] }): DeployDecl => ({ kind: 'deploy', name: 'deploy', options: { phases: options?.phases ?? [] } }),
  /** Mirrored traffic: the candidate answers copies of live requests; its answers are not served. */
  shadow: (options: z.input<StageOptions['shadowOptions']>): PhaseDecl => ({ mode: 'shadow', options }),
  /** A share of live traffic goes to the candidate. */
  canary: (options: z.input<StageOptions['canaryOptions']>): PhaseDecl => ({ mode: 'canary', options }),
  monitor: (options: MonitorDecl['options']): MonitorDecl => ({ kind: 'monitor', name: 'monitor', options }),
  retrain: (options?: RetrainDecl['options']): RetrainDecl => ({ kind: 'retrain', name: 'retrain', options }),
  retire: (options?: RetireDecl['options']): RetireDecl => ({ kind: 'retire', name: 'retire', options }),
};

/** What a template's `lifecycle` function may ask besides the manifest. */
export interface TemplateContext {
  /**
   * Temporal's `patched()`: true for lifecycles that start (or reach this point) on code with the change,
   * false when replaying a history recorded before it. Wrap a change to a released version's logic in it,
   * or better, release a new version.
   */
  patched(patchId: string): boolean;
}

/** Outside a workflow (load-time checks, the API, the policy preview): every patch is in. */
export const LATEST: TemplateContext = { patched: () => true };
const BEFORE_PATCHES: TemplateContext = { patched: () => false };

export interface TemplateDefinition {
  /** Lower-case name, e.g. `high-risk`. */
  readonly name: string;
  /** A whole number; a released version never changes (see templates/lock.json). */
  readonly version: number;
  readonly description: string;
  /**
   * Versions (`name@version`) whose running lifecycles move to this one at their next continue-as-new.
   * Without it, lifecycles keep the version they started with.
   */
  readonly migrateFrom?: readonly string[];
  readonly lifecycle: (manifest: ModelManifest, context: TemplateContext) => LifecycleSpec;
}

export interface Template extends TemplateDefinition {
  /** `name@version`. */
  readonly ref: string;
  /** The validated plan for one manifest; throws TemplateError naming the stage and option. */
  plan(manifest: ModelManifest, context?: TemplateContext): LifecyclePlan;
  /** Plans every probe manifest both with and without patches, so no branch fails only in production. */
  check(probes: readonly ModelManifest[]): void;
}

/** A template that cannot be used as written: names the template, the stage and the option. */
export class TemplateError extends Error {
  constructor(
    readonly template: string,
    readonly stage: string | null,
    readonly problem: string,
  ) {
    super(`template ${template}${stage ? `, stage ${stage}` : ''}: ${problem}`);
    this.name = 'TemplateError';
  }
}

export function formatTemplateRef(name: string, version: number): string {
  return `${name}@${version}`;
}

export function defineTemplate(definition: TemplateDefinition): Template {
  const ref = formatTemplateRef(definition.name, definition.version);
  if (!TEMPLATE_NAME_PATTERN.test(definition.name)) throw new TemplateError(ref, null, 'name must be lower-case letters, digits and "-"');
  if (!Number.isInteger(definition.version) || definition.version < 1) throw new TemplateError(ref, null, 'version must be a whole number from 1');
  return {
    ...definition,
    ref,
    plan: (manifest, context = LATEST) => planOf(ref, definition, manifest, context, stageOptions()),
    check: (probes) => {
      const schemas = stageOptions();
      for (const probe of probes) for (const context of [LATEST, BEFORE_PATCHES]) planOf(ref, definition, probe, context, schemas);
    },
  };
}

function parse<S extends z.ZodMiniType>(ref: string, stageName: string, schema: S, options: unknown): z.output<S> {
  const result = schema.safeParse(options);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `option ${i.path.length ? i.path.join('.') : '(options)'}: ${i.message}`);
  throw new TemplateError(ref, stageName, problems.join('; '));
}

function approvalPolicyOf(options: z.output<StageOptions['approvalOptions']>): ApprovalPolicy {
  const { deadline } = options;
  return {
    groups: options.groups,
    quorum: options.quorum,
    requireEveryGroup: options.requireEveryGroup,
    excludeOwningTeam: options.excludeOwningTeam,
    deadline: deadline
      ? {
          timeoutMs: deadline.timeout,
          remindAfterMs: deadline.remindAfter,
          escalateAfterMs: deadline.escalateAfter ?? null,
          escalationGroup: deadline.escalationGroup ?? null,
          onTimeout: deadline.onTimeout === 'reject' ? { action: 'reject' } : { action: 'escalate', group: deadline.onTimeout.escalateTo, extraMs: deadline.onTimeout.extra },
        }
      : null,
  };
}

function planOf(ref: string, definition: TemplateDefinition, manifest: ModelManifest, context: TemplateContext, schemas: StageOptions): LifecyclePlan {
  let spec: LifecycleSpec;
  try {
    spec = definition.lifecycle(manifest, context);
  } catch (err) {
    throw new TemplateError(ref, null, `lifecycle() threw: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!spec || !Array.isArray(spec.gates)) throw new TemplateError(ref, null, 'lifecycle() must return { gates: [...], monitor: ... }');
  if (!spec.monitor) throw new TemplateError(ref, 'monitor', 'is required');
  const { testOptions, scanOptions, customOptions, approvalOptions, deployOptions, monitorOptions, retrainOptions, retireOptions } = schemas;

  const seen = new Set<string>();
  const unique = (name: string) => {
    if (seen.has(name)) throw new TemplateError(ref, name, 'two stages have this name; give one a `name` option');
    seen.add(name);
  };

  const automated = (decl: GateDecl, label: string): AutomatedStep => {
    unique(decl.name);
    switch (decl.kind) {
      case 'test': {
        const o = parse(ref, label, testOptions, decl.options);
        return { kind: 'test', name: decl.name, bounds: { min: o.min, max: o.max }, ...(o.evaluate ? { evaluate: o.evaluate } : {}) };
      }
      case 'scan':
        return { kind: 'scan', name: decl.name, blockAt: parse(ref, label, scanOptions, decl.options).blockAt };
      case 'custom':
        if (typeof decl.run !== 'function') throw new TemplateError(ref, label, 'a custom stage needs a run function');
        return { kind: 'custom', name: decl.name, phase: parse(ref, label, customOptions, decl.options).phase, run: decl.run };
      default:
        throw new TemplateError(ref, label, `only test, scan and custom stages can run in parallel (found ${decl.kind})`);
    }
  };

  const gates = spec.gates.map((decl): GateStep => {
    switch (decl?.kind) {
      case 'approval':
        unique(decl.name);
        return { kind: 'approval', name: decl.name, policy: approvalPolicyOf(parse(ref, decl.name, approvalOptions, decl.options)) };
      case 'parallel':
        unique(decl.name);
        if (decl.steps.length < 2) throw new TemplateError(ref, decl.name, 'a parallel stage needs at least two steps');
        return { kind: 'parallel', name: decl.name, steps: decl.steps.map((s: GateDecl) => automated(s, `${decl.name} › ${s.name}`)) };
      case 'test':
      case 'scan':
      case 'custom':
        return automated(decl, decl.name);
      default:
        throw new TemplateError(ref, null, `gates may hold test, scan, approval, custom and parallel stages (found ${JSON.stringify((decl as { kind?: unknown })?.kind)})`);
    }
  });

  const deploy = parse(ref, 'deploy', deployOptions, { phases: (spec.deploy?.options.phases ?? []).map((p) => ({ ...p.options, mode: p.mode })) });
  const monitor = parse(ref, 'monitor', monitorOptions, spec.monitor.options);
  const retrain = parse(ref, 'retrain', retrainOptions, spec.retrain?.options);
  const retire = parse(ref, 'retire', retireOptions, spec.retire?.options);
  return {
    template: ref,
    gates,
    deploy: {
      phases: deploy.phases.map((p) => ({
        mode: p.mode,
        name: p.name,
        trafficShare: p.mode === 'canary' ? p.trafficPercent / 100 : 0,
        holdMs: p.hold,
        // Only when set, so plans of templates released before stay as they were.
        ...(p.challenge ? { challenge: p.challenge } : {}),
      })),
    },
    monitor: {
      intervalMs: monitor.every,
      cyclesPerRun: monitor.cyclesPerRun,
      drift: monitor.drift,
      kpis: monitor.kpis,
      maxErrorRate: monitor.maxErrorRate,
      ...liveMonitoringPlan(monitor),
    },
    retrain,
    retire: { maxLifetimeMs: retire.maxLifetime },
  };
}

/**
 * Live-monitoring settings enter a plan only when the template sets them, so plans of templates released before
 * them (and the histories recorded with them) stay as they were.
 */
function liveMonitoringPlan(monitor: z.output<StageOptions['monitorOptions']>): Partial<LifecyclePlan['monitor']> {
  const { maxLatencyMs, performance, fairness, predictionDrift, alerts } = monitor;
  return {
    ...(maxLatencyMs ? { maxLatencyMs } : {}),
    ...(performance ? { performance } : {}),
    ...(fairness ? { fairness } : {}),
    ...(predictionDrift ? { predictionDrift } : {}),
    ...(alerts ? { alerts: { consecutive: alerts.consecutive, cooldownMs: alerts.cooldown, critical: alerts.critical, retrainAt: alerts.retrainAt } } : {}),
  };
}
