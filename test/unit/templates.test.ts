import { describe, expect, it } from 'vitest';
import { manifestSchema, type ManifestInput, type ModelManifest } from '../../core/manifest.js';
import { templates } from '../../templates/index.js';
import { defineTemplate, stage, TemplateError, TemplateRegistry, type LifecycleSpec } from '../../workflows/dsl/index.js';
import { probeManifests } from '../../workflows/dsl/probes.js';
import { lockProblems, readLock, type TemplateLock } from '../../scripts/template-lock.js';

const manifest = (overrides: Partial<ManifestInput> = {}): ModelManifest =>
  manifestSchema.parse({
    name: 'credit-score',
    version: '1.0.0',
    owner: 'erin',
    team: 'credit-risk',
    kind: 'ml',
    framework: 'onnx',
    riskTier: 'medium',
    artifacts: [{ uri: 'file:///m.onnx', sha256: 'a'.repeat(64) }],
    inputSchema: [{ name: 'age_band', type: 'category', categories: ['young', 'old'] }],
    outputSchema: [{ name: 'p', type: 'number' }],
    protectedAttributes: ['age_band'],
    ...overrides,
  });

const monitorEveryHour = stage.monitor({ every: '1h' });
const bad = (spec: Partial<LifecycleSpec>) =>
  defineTemplate({ name: 'bad', version: 1, description: '', lifecycle: () => ({ gates: [], monitor: monitorEveryHour, ...spec }) });

describe('the example templates', () => {
  it('pass the load-time check the worker and the API run', () => {
    expect(() => templates.check(probeManifests())).not.toThrow();
  });

  it('standard: one approver and a direct rollout for a medium-risk model; two approvers and a shadow day for high risk', () => {
    const medium = templates.plan('standard@1', manifest());
    expect(medium.template).toBe('standard@1');
    expect(medium.gates.map((g) => g.kind)).toEqual(['test', 'scan', 'approval']);
    expect(medium.gates[2]).toMatchObject({ policy: { groups: ['risk'], quorum: 1, deadline: { timeoutMs: 5 * 86_400_000 } } });
    expect(medium.deploy.phases).toEqual([]);

    const high = templates.plan('standard@1', manifest({ riskTier: 'high' }));
    expect(high.gates[2]).toMatchObject({ policy: { quorum: 2 } });
    expect(high.deploy.phases).toEqual([{ mode: 'shadow', name: 'shadow', trafficShare: 0, holdMs: 86_400_000 }]);
  });

  it('high-risk: parallel performance, fairness and scan gates; two risk approvers outside the team; shadow then canary; tighter drift', () => {
    const plan = templates.plan('high-risk', manifest());
    expect(plan.gates[0]).toMatchObject({ kind: 'parallel', name: 'evidence' });
    expect(plan.gates[0]!.kind === 'parallel' && plan.gates[0]!.steps.map((s) => `${s.kind}:${s.name}`)).toEqual(['test:performance', 'custom:fairness', 'scan:scan']);
    expect(plan.gates[1]).toMatchObject({ kind: 'approval', policy: { groups: ['risk'], quorum: 2, excludeOwningTeam: true } });
    expect(plan.deploy.phases.map((p) => [p.mode, p.trafficShare])).toEqual([['shadow', 0], ['canary', 0.1]]);
    const standard = templates.plan('standard', manifest());
    expect(plan.monitor.drift!.columnShare).toBeLessThan(standard.monitor.drift!.columnShare);
    expect(plan.monitor.intervalMs).toBeLessThan(standard.monitor.intervalMs);
    expect(plan.retire.maxLifetimeMs).toBe(365 * 86_400_000);
  });

  it('rules-model: no feature drift; business KPIs and an error-rate ceiling instead', () => {
    const plan = templates.plan('rules-model', manifest({ kind: 'rules', framework: 'drools' }));
    expect(plan.monitor.drift).toBeNull();
    expect(plan.monitor.kpis).toEqual({ approvalRate: { min: 0.2, max: 0.8 }, manualReviewRate: { max: 0.15 } });
    expect(plan.monitor.maxErrorRate).toBe(0.001);
    expect(plan.gates.map((g) => g.name)).toEqual(['model-kind', 'backtest', 'scan', 'approval']);
  });

  it('the custom fairness stage refuses a model that declares nothing to slice by, without calling an activity', async () => {
    const plan = templates.plan('high-risk', manifest({ protectedAttributes: [] }));
    const fairness = plan.gates[0]!.kind === 'parallel' ? plan.gates[0]!.steps.find((s) => s.name === 'fairness') : undefined;
    if (fairness?.kind !== 'custom') throw new Error('fairness is a custom stage');
    const verdict = await fairness.run({
      manifest: manifest({ protectedAttributes: [] }),
      modelVersionId: 'credit-score@1.0.0',
      activities: { evaluateModel: () => Promise.reject(new Error('must not be called')) },
    });
    expect(verdict).toEqual({ passed: false, reason: 'declares no protectedAttributes to measure fairness over' });
  });
});

describe('the registry', () => {
  it('resolves a bare name to the newest version and name@version exactly', () => {
    const v9 = defineTemplate({ name: 'standard', version: 9, description: '', lifecycle: () => ({ gates: [], monitor: monitorEveryHour }) });
    const registry = new TemplateRegistry([...templates.list(), v9]);
    expect(registry.resolve('standard').ref).toBe('standard@9');
    expect(registry.resolve('standard@1').ref).toBe('standard@1');
  });

  it('names what it knows when asked for a template it does not have', () => {
    expect(() => templates.resolve('standard@9')).toThrow('no template standard@9 (known: standard@1, standard@2)');
    expect(() => templates.resolve('nope')).toThrow(/no template nope \(known: high-risk@1, high-risk@2, rules-model@1, standard@1, standard@2\)/);
  });

  it('finds the migration a newer version declares, and none otherwise', () => {
    const v9 = defineTemplate({ name: 'standard', version: 9, description: '', migrateFrom: ['standard@1'], lifecycle: () => ({ gates: [], monitor: monitorEveryHour }) });
    const registry = new TemplateRegistry([...templates.list(), v9]);
    expect(registry.migrationFrom('standard@1')?.ref).toBe('standard@9');
    expect(registry.migrationFrom('standard@9')).toBeNull();
    expect(templates.migrationFrom('standard@1')).toBeNull();
  });

  it('refuses a migration from a version it does not know, and a template defined twice', () => {
    const orphan = defineTemplate({ name: 'x', version: 2, description: '', migrateFrom: ['x@1'], lifecycle: () => ({ gates: [], monitor: monitorEveryHour }) });
    expect(() => new TemplateRegistry([orphan])).toThrow('template x@2: migrateFrom names x@1, which is not a known template');
    expect(() => new TemplateRegistry([orphan, orphan])).toThrow('template x@2: is defined twice');
  });
});

describe('invalid templates fail at load, naming the template, the stage and the option', () => {
  const cases: [string, Partial<LifecycleSpec>, string][] = [
    ['a quorum below one', { gates: [stage.approval({ groups: ['risk'], quorum: 0 })] }, 'template bad@1, stage approval: option quorum: Too small: expected number to be >=1'],
    ['an unknown option', { gates: [stage.test({ minimum: { auc: 1 } } as never)] }, 'template bad@1, stage test: option (options): Unrecognized key: "minimum"'],
    ['a duration that is not one', { monitor: stage.monitor({ every: 'soon' as never }) }, 'template bad@1, stage monitor: option every: must be a positive duration such as 30000, "15m" or "2 days" (got "soon")'],
    ['a quorum that cannot cover every group', { gates: [stage.approval({ groups: ['risk', 'legal'], requireEveryGroup: true })] }, 'option quorum: with requireEveryGroup the quorum must be at least the number of groups'],
    ['an approval inside a parallel stage', { gates: [stage.parallel('both', [stage.test(), stage.approval({ groups: ['risk'] }) as never])] }, 'template bad@1, stage both › approval: only test, scan and custom stages can run in parallel (found approval)'],
    ['two stages with one name', { gates: [stage.test(), stage.test()] }, 'template bad@1, stage test: two stages have this name'],
    ['a canary of all traffic', { deploy: stage.deploy({ phases: [stage.canary({ trafficPercent: 100, hold: '1h' })] }) }, 'template bad@1, stage deploy: option phases.0.trafficPercent: Too big: expected number to be <100'],
    ['a shadow after a canary', { deploy: stage.deploy({ phases: [stage.canary({ trafficPercent: 5, hold: '1h' }), stage.shadow({ hold: '1h' })] }) }, 'option phases: a shadow phase cannot follow a canary'],
    ['an unknown severity', { gates: [stage.scan({ blockAt: 'severe' as never })] }, 'template bad@1, stage scan: option blockAt: Invalid option'],
  ];
  it.each(cases)('%s', (_, spec, message) => {
    expect(() => new TemplateRegistry([bad(spec)]).check(probeManifests())).toThrow(message);
  });

  it('checks branches only some models reach, because the registry plans every template for every risk tier and kind', () => {
    const criticalOnly = defineTemplate({
      name: 'branchy',
      version: 1,
      description: '',
      lifecycle: (m) => ({ gates: [stage.approval({ groups: ['risk'], quorum: m.riskTier === 'critical' ? -1 : 1 })], monitor: monitorEveryHour }),
    });
    expect(criticalOnly.plan(manifest())).toBeDefined();
    expect(() => new TemplateRegistry([criticalOnly]).check(probeManifests())).toThrow(TemplateError);
    expect(() => new TemplateRegistry([criticalOnly]).check(probeManifests())).toThrow('template branchy@1, stage approval: option quorum');
  });

  it('refuses bad names and versions at definition', () => {
    expect(() => defineTemplate({ name: 'Bad Name', version: 1, description: '', lifecycle: () => ({ gates: [], monitor: monitorEveryHour }) })).toThrow('template Bad Name@1: name must be');
    expect(() => defineTemplate({ name: 'ok', version: 1.5, description: '', lifecycle: () => ({ gates: [], monitor: monitorEveryHour }) })).toThrow('template ok@1.5: version must be a whole number');
  });
});

describe('released template versions are immutable', () => {
  const root = process.cwd();

  it('every registered version is locked, and no locked file has changed', () => {
    expect(lockProblems(root, templates.list())).toEqual([]);
  });

  it('names the version and tells the author to make a new one when a released file changes', () => {
    const lock: TemplateLock = { ...readLock(root), 'standard@1': { file: 'templates/standard/v1.ts', sha256: '0'.repeat(64) } };
    expect(lockProblems(root, templates.list(), lock)).toEqual([
      'standard@1: templates/standard/v1.ts changed after release; put the change in a new version (v2) instead',
    ]);
    const { 'rules-model@1': _, ...withoutRules } = readLock(root);
    expect(lockProblems(root, templates.list(), withoutRules)).toEqual(['rules-model@1: not in templates/lock.json; run npm run templates:lock']);
  });
});
