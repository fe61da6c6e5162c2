import { isWindowJudged } from '../../core/evidence.js';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../api/tokens.js';
import { exportBundle } from '../../audit/bundle.js';
import { formatLineage, lineageOf, productionAt } from '../../audit/lineage.js';
import { lifecycleRunHistories } from '../../audit/run-histories.js';
import type { ManifestInput } from '../../core/manifest.js';
import { lifecycleWorkflowId } from '../../core/model-id.js';
import type { LifecycleResult } from '../../workflows/lifecycle.js';
import { statusQuery } from '../../workflows/messages.js';
import { eventually, startTestStack, type TestApi, type TestDatabase, type TestStack } from '../harness/index.js';
import { stageTransitionsIn } from '../harness/history.js';
import { sampleManifest } from '../harness/manifests.js';
import { writeArtifact } from '../harness/artifacts.js';

/**
 * One lifecycle of each example template, end to end on the real dev server, with no inline policy: the
 * manifest picks the template and the template decides the path.
 */
describe('each example template drives its own lifecycle', () => {
  let stack: TestStack;
  let client: Client;
  let api: TestApi;
  let database: TestDatabase;
  const token: Record<'erin' | 'rita' | 'ravi' | 'bo', string> = { erin: '', rita: '', ravi: '', bo: '' };

  beforeAll(async () => {
    stack = await startTestStack('templates');
    ({ client, api, database } = stack);
    token.erin = await createApiToken(database.db, 'erin', ['engineer'], ['credit-risk']);
    token.rita = await createApiToken(database.db, 'rita', ['approver:risk'], ['model-risk']);
    token.ravi = await createApiToken(database.db, 'ravi', ['approver:risk'], ['model-risk']);
    token.bo = await createApiToken(database.db, 'bo', ['approver:business'], ['lending']);
  });
  afterAll(() => stack?.stop());

  const handleOf = (m: ManifestInput) => client.workflow.getHandle(lifecycleWorkflowId({ name: m.name, version: m.version }));
  const idOf = (m: ManifestInput) => `${m.name}@${m.version}`;
  const status = (m: ManifestInput) => handleOf(m).query(statusQuery);
  const approve = (m: ManifestInput, who: keyof typeof token, comment = 'evidence reviewed') =>
    api.call('POST', `/models/${idOf(m)}/approvals`, { token: token[who], body: { decision: 'approve', comment } });
  const until = (what: string, m: ManifestInput, test: (s: Awaited<ReturnType<typeof status>>) => boolean) =>
    eventually(what, async () => {
      const s = await status(m);
      return test(s) ? s : undefined;
    });
  const deploymentsOf = (m: ManifestInput) =>
    database.db.selectFrom('deployments').selectAll().where('model_version_id', '=', idOf(m)).orderBy('from_time').orderBy('id').execute();
  async function transitions(m: ManifestInput) {
    const runs = await lifecycleRunHistories(client, handleOf(m).workflowId);
    return runs.flatMap((r) => stageTransitionsIn(r.history)).map((t) => `${t.stage}${t.step && t.step !== t.stage ? `/${t.step}` : ''}:${t.outcome}`);
  }
  async function retire(m: ManifestInput): Promise<LifecycleResult> {
    expect((await api.call('POST', `/models/${idOf(m)}/retire`, { token: token.erin, body: { reason: 'test over' } })).status).toBe(202);
    return (await handleOf(m).result()) as LifecycleResult;
  }

  it('standard: a medium-risk model needs one risk approver and goes straight to production', async () => {
    const m = await sampleManifest({ name: 'std', riskTier: 'medium' });
    expect((await api.call('POST', '/models', { token: token.erin, body: m })).status).toBe(201);
    await until('the approval gate', m, (s) => s.gate !== null);
    expect((await approve(m, 'rita')).body.verdict).toEqual({ status: 'accepted', decision: 'approve' });
    const live = await until('monitoring', m, (s) => s.stage === 'monitor');
    expect(live.template).toBe('standard@2');
    expect((await handleOf(m).describe()).memo).toMatchObject({ template: 'standard@2' });

    expect(await transitions(m)).toEqual(['register:passed', 'test:passed', 'scan:passed', 'approval:entered', 'approval:passed', 'deploy:passed', 'monitor:passed']);
    expect((await deploymentsOf(m)).map((d) => [d.strategy, d.traffic_share])).toEqual([['replace', 1]]);
    const row = await database.db.selectFrom('model_versions').select(['template']).where('id', '=', idOf(m)).executeTakeFirstOrThrow();
    expect(row.template).toBe('standard@2');
    expect(await retire(m)).toMatchObject({ endedBy: 'retired' });
  });

  it('high-risk: refuses to deploy on one approval, then runs shadow and canary phases before production', async () => {
    const m = await sampleManifest({
      name: 'hr',
      riskTier: 'high',
      template: 'high-risk',
      metrics: { auc: 0.91, disparateImpactRatio: 0.86, equalOpportunityDifference: 0.03 },
    });
    expect((await api.call('POST', '/models', { token: token.erin, body: m })).status).toBe(201);
    await until('the approval gate', m, (s) => s.gate !== null);

    // One approval is counted, not enough; the same approver again is refused; nothing is deployed.
    expect((await approve(m, 'rita')).body.verdict).toEqual({ status: 'counted', approvals: 1, quorum: 2, missingGroups: [] });
    expect((await approve(m, 'rita')).body.verdict).toEqual({ status: 'refused', reason: 'duplicate-approver' });
    expect((await status(m)).stage).toBe('approval');
    expect(await deploymentsOf(m)).toEqual([]);

    expect((await approve(m, 'ravi')).body.verdict).toEqual({ status: 'accepted', decision: 'approve' });
    const shadow = await until('the shadow phase', m, (s) => s.phase?.name === 'shadow');
    expect(shadow.phase).toMatchObject({ mode: 'shadow', trafficShare: 0 });
    expect((await deploymentsOf(m)).map((d) => [d.strategy, d.traffic_share, d.to_time])).toEqual([['shadow', 0, null]]);
    // A shadow serves nobody, so it is not "in production".
    const production = async () => (await api.call('GET', `/production?model=${m.name}`, { token: token.erin })).body.deployments.map((d: { strategy: string }) => d.strategy);
    expect(await production()).toEqual([]);

    // The shadow holds for three days unless an engineer promotes it; the promotion is recorded with its reason.
    expect((await api.call('POST', `/models/${idOf(m)}/promote`, { token: token.erin, body: { reason: 'shadow parity 99.8%' } })).body).toMatchObject({ phase: 'shadow' });
    await until('the canary phase', m, (s) => s.phase?.name === 'canary');
    expect((await deploymentsOf(m)).map((d) => [d.strategy, d.traffic_share, d.end_reason])).toEqual([
      ['shadow', 0, 'promoted after shadow'],
      ['canary', 0.1, null],
    ]);
    await api.call('POST', `/models/${idOf(m)}/promote`, { token: token.erin, body: { reason: 'canary error rate flat' } });
    await until('monitoring', m, (s) => s.stage === 'monitor');
    expect((await deploymentsOf(m)).map((d) => [d.strategy, d.traffic_share, d.to_time === null])).toEqual([
      ['shadow', 0, false],
      ['canary', 0.1, false],
      ['replace', 1, true],
    ]);
    expect(await production()).toEqual(['replace']);
    const noPhase = await api.call('POST', `/models/${idOf(m)}/promote`, { token: token.erin, body: { reason: 'again' } });
    expect(noPhase.status).toBe(409);
    expect(noPhase.body.error.code).toBe('no_deployment_phase');

    const path = await transitions(m);
    // The three evidence gates run side by side, so their order is whatever finished first.
    expect(path.slice(1, 4).sort()).toEqual(['scan:passed', 'test/fairness:passed', 'test/performance:passed']);
    expect([path[0], ...path.slice(4)]).toEqual([
      'register:passed',
      'approval:entered',
      'approval:passed',
      'deploy/shadow:entered',
      'deploy/shadow:passed',
      'deploy/canary:entered',
      'deploy/canary:passed',
      'deploy:passed',
      'monitor:passed',
    ]);
    const history = (await lifecycleRunHistories(client, handleOf(m).workflowId))[0]!.history;
    const promoted = stageTransitionsIn(history).filter((t) => t.step === 'shadow' && t.outcome === 'passed');
    expect(promoted).toMatchObject([{ actor: 'erin', detail: { reason: 'promoted early: shadow parity 99.8%' } }]);
    const monitor = stageTransitionsIn(history).find((t) => t.stage === 'monitor')!;
    expect(monitor.detail).toMatchObject({ intervalMs: 15 * 60_000, drift: { columnShare: 0.3 }, maxErrorRate: 0.01 });
    expect(await retire(m)).toMatchObject({ endedBy: 'retired' });

    // The audit trail names the exact template version, and its lineage of phases agrees with the catalog.
    const bundle = await exportBundle(client, { name: m.name, version: m.version }, { exportedBy: 'ada' });
    expect(bundle.lifecycles[0]).toMatchObject({ template: 'high-risk@2', templates: ['high-risk@2'] });
    const lineage = lineageOf(bundle);
    expect(lineage.versions[0]!.templates).toEqual(['high-risk@2']);
    expect(lineage.deployments.map((d) => [d.strategy, d.trafficShare, d.endReason])).toEqual(
      (await deploymentsOf(m)).map((d) => [d.strategy, d.traffic_share, d.end_reason]),
    );
    expect(formatLineage(lineage)).toContain('as canary (10% of traffic)');
  });

  it('high-risk: a model with nothing to measure fairness over stops at the fairness gate', async () => {
    const m = await sampleManifest({ name: 'hr-unfair', template: 'high-risk@1', protectedAttributes: [], metrics: { auc: 0.95 } });
    expect((await api.call('POST', '/models', { token: token.erin, body: m })).status).toBe(201);
    const result = (await handleOf(m).result()) as LifecycleResult;
    expect(result).toMatchObject({ endedBy: 'failed-test', reason: 'fairness: declares no protectedAttributes to measure fairness over' });
    expect(await deploymentsOf(m)).toEqual([]);
  });

  it('rules-model: a business approver decides, and observed windows are judged on KPIs and error rate, not feature drift', async () => {
    const m = await sampleManifest({
      name: 'rules',
      kind: 'rules',
      framework: 'json-rules',
      // A rules model the built-in runtime serves: the example's decline-above-45%-DTI rule.
      artifacts: [await writeArtifact('rules.json', JSON.stringify({ kind: 'rules', rules: [{ if: 'debt_to_income > 0.45', then: 'decline' }, { else: 'approve' }] }))],
      riskTier: 'medium',
      template: 'rules-model',
      metrics: { backtestAgreement: 0.995, ruleConflicts: 0 },
    });
    expect((await api.call('POST', '/models', { token: token.erin, body: m })).status).toBe(201);
    await until('the approval gate', m, (s) => s.gate !== null);
    expect((await approve(m, 'rita')).body.verdict).toEqual({ status: 'refused', reason: 'role-not-allowed' });
    expect((await approve(m, 'bo', 'backtest matches last quarter')).body.verdict).toEqual({ status: 'accepted', decision: 'approve' });
    await until('monitoring', m, (s) => s.stage === 'monitor');

    expect(await transitions(m)).toEqual([
      'register:passed',
      'test/model-kind:passed',
      'test/backtest:passed',
      'scan:passed',
      'approval:entered',
      'approval:passed',
      'deploy:passed',
      'monitor:passed',
    ]);
    const history = (await lifecycleRunHistories(client, handleOf(m).workflowId))[0]!.history;
    expect(stageTransitionsIn(history).find((t) => t.stage === 'monitor')!.detail).toMatchObject({
      drift: null,
      kpis: { approvalRate: { min: 0.2, max: 0.8 }, manualReviewRate: { max: 0.15 } },
      maxErrorRate: 0.001,
    });

    // The serving side reports windows; the lifecycle judges each against the template's KPIs and error rate.
    const observe = (body: unknown, key?: string) =>
      api.call('POST', `/models/${idOf(m)}/observations`, { token: token.erin, body, ...(key ? { headers: { 'idempotency-key': key } } : {}) });
    const hour = (h: number) => `2026-11-22T${String(h).padStart(2, '0')}:00:00Z`;
    expect((await observe({ windowStart: hour(9), windowEnd: hour(10), requests: 5000, errors: 2, kpis: { approvalRate: 0.55, manualReviewRate: 0.05 } }, 'window-09')).status).toBe(202);
    expect((await observe({ windowStart: hour(9), windowEnd: hour(10), requests: 5000, errors: 2, kpis: { approvalRate: 0.55 } }, 'window-09')).status).toBe(202);
    expect((await observe({ windowStart: hour(10), windowEnd: hour(11), requests: 4000, errors: 9, kpis: { approvalRate: 0.93, manualReviewRate: 0.04 } })).status).toBe(202);
    const bad = await observe({ windowStart: hour(11), windowEnd: hour(10), requests: 10, errors: 11 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues.map((i: { field: string }) => i.field).sort()).toEqual(['body.errors', 'body.windowEnd']);

    const judged = await eventually('both windows judged', async () => {
      const runs = await lifecycleRunHistories(client, handleOf(m).workflowId);
      const found = runs.flatMap((r) => stageTransitionsIn(r.history)).filter(isWindowJudged);
      return found.length >= 2 ? found : undefined;
    });
    expect(judged.map((t) => [t.outcome, t.detail.breaches])).toEqual([
      ['passed', []],
      ['breached', ['error rate 0.0023 > 0.001', 'approvalRate 0.93 > 0.8']],
    ]);
    // A breach is an event like any transition, so webhooks and the event log see it.
    // The point-in-time answer, from histories alone, carries the monitoring status of the time.
    const [serving] = productionAt(lineageOf(await exportBundle(client, { name: m.name, version: m.version }, { exportedBy: 'ada' })), new Date());
    expect(serving).toMatchObject({ modelVersionId: idOf(m), monitoring: { outcome: 'breached', breaches: ['error rate 0.0023 > 0.001', 'approvalRate 0.93 > 0.8'] } });
    await eventually('the breach event', async () => {
      const events = await api.call('GET', `/events?modelVersionId=${idOf(m)}`, { token: token.erin });
      return events.body.items.some((e: { data: { outcome: string } }) => e.data.outcome === 'breached') ? true : undefined;
    });
    expect(await retire(m)).toMatchObject({ endedBy: 'retired' });
  });

  it('lists the released templates with how many live lifecycles run each, and finds versions by template', async () => {
    const m = await sampleManifest({ name: 'waiting', riskTier: 'low' });
    expect((await api.call('POST', '/models', { token: token.erin, body: m })).status).toBe(201);
    await until('the approval gate', m, (s) => s.gate !== null);

    const listed = await api.call('GET', '/templates', { token: token.rita });
    expect(listed.body.templates.map((t: { ref: string }) => t.ref)).toEqual(['high-risk@1', 'high-risk@2', 'rules-model@1', 'standard@1', 'standard@2']);
    // Earlier tests retired theirs; the one waiting at its gate is the only live standard@2 lifecycle (a bare `standard` pins the newest release).
    expect(listed.body.templates.find((t: { ref: string }) => t.ref === 'standard@2')).toMatchObject({ inUse: 1, migrateFrom: [] });

    const byName = await api.call('GET', '/models?template=high-risk', { token: token.rita });
    expect(byName.body.items.map((v: { name: string; template: string }) => `${v.name}:${v.template}`).sort()).toEqual(
      expect.arrayContaining([expect.stringMatching(/^hr-.*:high-risk@2$/), expect.stringMatching(/^hr-unfair-.*:high-risk@1$/)]),
    );
    expect(byName.body.items).toHaveLength(2);
    // Nothing serves yet, so there is nothing to observe.
    const early = await api.call('POST', `/models/${idOf(m)}/observations`, {
      token: token.erin,
      body: { windowStart: '2026-11-22T09:00:00Z', windowEnd: '2026-11-22T10:00:00Z', requests: 1, errors: 0 },
    });
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('not_serving');
    const exact = await api.call('GET', '/models?template=standard@2', { token: token.rita });
    expect(exact.body.items.map((v: { id: string }) => v.id)).toContain(idOf(m));
    expect((await api.call('GET', '/models?template=Standard', { token: token.rita })).body.error.issues[0].field).toBe('querystring.template');
  });

  it('refuses a manifest naming a template that does not exist, naming the field, and starts nothing', async () => {
    const m = await sampleManifest({ name: 'nowhere', template: 'standard@7' });
    const res = await api.call('POST', '/models', { token: token.erin, body: m });
    expect(res.status).toBe(400);
    expect(res.body.error.issues).toEqual([{ field: 'body.template', problem: 'no template standard@7 (known: standard@1, standard@2)' }]);
    await expect(handleOf(m).describe()).rejects.toThrow(/not found/i);
  });
});
