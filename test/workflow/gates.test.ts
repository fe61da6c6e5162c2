import { ApplicationFailure } from '@temporalio/activity';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ScoringEvaluationInput, ScoringEvaluationResult } from '../../activities/testing.js';
import { manifest, people, startLifecycleStack, type LifecycleStack } from './support/lifecycle-stack.js';

/**
 * Register and the automated gates (test, scan, custom and parallel stages) of the released templates, with
 * the activities replaced by doubles. Each test follows one lifecycle to the stage that ends it, or to the
 * approval gate, and reads what happened from the transitions the workflow recorded.
 */
let s: LifecycleStack;
/** The compute queue's scoring evaluation, a double: what each model version's evaluation answers, and the calls. */
const scoring = new Map<string, (input: ScoringEvaluationInput) => ScoringEvaluationResult>();
const scored: ScoringEvaluationInput[] = [];
beforeAll(async () => {
  s = await startLifecycleStack({
    computeActivities: {
      async evaluateByScoring(input: ScoringEvaluationInput): Promise<ScoringEvaluationResult> {
        scored.push(input);
        const answer = scoring.get(input.modelVersionId);
        if (!answer) throw ApplicationFailure.nonRetryable(`no scoring double for ${input.modelVersionId}`, 'EvaluationRefused');
        return answer(input);
      },
    },
  });
});
afterEach(() => s.retireLeftovers());
afterAll(() => s?.stop());

describe('register', () => {
  it('registers the version with its registrant and pinned template, then records the registration', async () => {
    const m = manifest({ template: 'standard' });
    const lifecycle = await s.start({ manifest: m });
    await s.fakes.transition(lifecycle.workflowId, 'approval:entered');

    const [register] = s.fakes.callsOf('registerVersion', lifecycle.workflowId);
    expect(register?.input).toMatchObject({ workflowId: lifecycle.workflowId, modelVersionId: lifecycle.modelVersionId, registeredBy: people.erin, lineage: null, template: 'standard@1' });
    expect(register?.input.manifest).toEqual(m);
    const [first] = s.fakes.transitions(lifecycle.workflowId);
    expect(first).toMatchObject({ seq: 1, stage: 'register', outcome: 'passed', actor: 'erin' });
    expect(first?.detail).toEqual({ owner: 'erin', riskTier: 'medium', artifacts: 1, parent: null, template: 'standard@1' });
    expect(s.fakes.path(lifecycle.workflowId)).toEqual(['register:passed', 'test:passed', 'scan:passed', 'approval:entered']);
    // Every transition numbered in order, from the workflow clock.
    expect(s.fakes.transitions(lifecycle.workflowId).map((t) => t.seq)).toEqual([1, 2, 3, 4]);
    const status = await s.status(lifecycle);
    expect(status).toMatchObject({ modelVersionId: lifecycle.modelVersionId, template: 'standard@1', stage: 'approval', run: 1, parentWorkflowId: null, deployment: null });
  });
});

describe('test gate', () => {
  it('passes when every bounded metric is within its bounds, with the evaluation report on record', async () => {
    const lifecycle = await s.start({ manifest: manifest({ template: 'standard', metrics: { auc: 0.7 } }) });
    await s.fakes.transition(lifecycle.workflowId, 'approval:entered');
    const test = await s.fakes.transition(lifecycle.workflowId, 'test');
    expect(test).toMatchObject({ outcome: 'passed', actor: 'steward', detail: { minMetrics: { auc: 0.7 } } });
    expect(test.report).toMatchObject({ kind: 'evaluation', summary: { passed: true } });
    expect(s.fakes.callsOf('evaluateModel', lifecycle.workflowId)[0]?.input).toMatchObject({ metrics: { auc: 0.7 }, minMetrics: { auc: 0.7 } });
  });

  it('fails below a bound and ends the lifecycle before the scan', async () => {
    const lifecycle = await s.start({ manifest: manifest({ template: 'standard', metrics: { auc: 0.69 } }) });
    const result = await s.result(lifecycle);
    expect(result).toEqual({ modelVersionId: lifecycle.modelVersionId, endedBy: 'failed-test', reason: "test: metrics outside the template's bounds" });
    expect(s.fakes.path(lifecycle.workflowId)).toEqual(['register:passed', 'test:failed', 'retire:completed']);
    const [, test, retire] = s.fakes.transitions(lifecycle.workflowId);
    expect(test?.report?.summary).toMatchObject({ passed: false });
    expect(retire).toMatchObject({ actor: 'steward', detail: { endedBy: 'failed-test', reason: "test: metrics outside the template's bounds" } });
    expect(s.fakes.callsOf('scanArtifacts', lifecycle.workflowId)).toEqual([]);
    expect(s.fakes.callsOf('endDeployment', lifecycle.workflowId)).toEqual([]);
  });

  it('fails a metric the manifest does not report (absent evidence is not evidence)', async () => {
    const lifecycle = await s.start({ manifest: manifest({ template: 'standard', metrics: { accuracy: 0.99 } }) });
    expect((await s.result(lifecycle)).endedBy).toBe('failed-test');
  });
});

describe('test gate by scoring (a template with evaluate)', () => {
  const evaluation = { dataset: { uri: 'file:///data/holdout.csv' }, label: 'defaulted', task: 'classification' as const };
  const report = (passed: boolean, failures: string[] = []): ScoringEvaluationResult => ({
    passed,
    failures,
    report: { kind: 'evaluation', digest: 'd'.repeat(64), summary: { passed, method: 'scoring', failures } },
  });

  it('scores the candidate on the compute queue and passes on its verdict, without judging the declared metrics', async () => {
    const m = manifest({ template: 'scored', metrics: { auc: 0.9 }, evaluation });
    const lifecycle = await s.start({ manifest: m });
    scoring.set(lifecycle.modelVersionId, () => report(true));
    await s.fakes.transition(lifecycle.workflowId, 'scan');
    const test = await s.fakes.transition(lifecycle.workflowId, 'test');
    expect(test).toMatchObject({ outcome: 'passed', actor: 'steward', detail: { minMetrics: { auc: 0.7 }, method: 'scoring' }, report: { kind: 'evaluation', summary: { method: 'scoring' } } });
    const call = scored.find((c) => c.modelVersionId === lifecycle.modelVersionId);
    expect(call).toMatchObject({ manifest: m, bounds: { min: { auc: 0.7 }, max: {} }, policy: { required: true, vsChampion: { auc: 0.01 }, claimTolerance: 0.05 } });
    expect(s.fakes.callsOf('evaluateModel', lifecycle.workflowId)).toEqual([]);
  });

  it('fails on the evaluation verdict, the reason naming the first failed check, and never scans', async () => {
    const lifecycle = await s.start({ manifest: manifest({ template: 'scored', metrics: { auc: 0.9 }, evaluation }) });
    const failures = ['rocAuc measured 0.61 (claimed 0.9) is below the minimum 0.7', 'rocAuc claimed 0.9, measured 0.61: off by 0.29 (tolerance 0.05)'];
    scoring.set(lifecycle.modelVersionId, () => report(false, failures));
    const result = await s.result(lifecycle);
    expect(result).toEqual({ modelVersionId: lifecycle.modelVersionId, endedBy: 'failed-test', reason: `test: ${failures[0]} (and 1 more)` });
    expect(s.fakes.path(lifecycle.workflowId)).toEqual(['register:passed', 'test:failed', 'retire:completed']);
    expect((await s.fakes.transition(lifecycle.workflowId, 'test')).detail).toEqual({ minMetrics: { auc: 0.7 }, method: 'scoring', failures });
    expect(s.fakes.callsOf('scanArtifacts', lifecycle.workflowId)).toEqual([]);
  });

  it('fails, naming the problem, when scoring cannot complete (a final error from the activity)', async () => {
    const lifecycle = await s.start({ manifest: manifest({ template: 'scored', evaluation }) });
    scoring.set(lifecycle.modelVersionId, () => {
      throw ApplicationFailure.nonRetryable('file:///data/holdout.csv: row 3, column defaulted: "maybe" is not a binary label (0 or 1)', 'EvaluationRefused');
    });
    const result = await s.result(lifecycle);
    expect(result.reason).toBe('test: scoring could not complete: file:///data/holdout.csv: row 3, column defaulted: "maybe" is not a binary label (0 or 1)');
    const test = await s.fakes.transition(lifecycle.workflowId, 'test');
    expect(test).toMatchObject({ outcome: 'failed', detail: { method: 'scoring', problem: expect.stringContaining('not a binary label') } });
  });

  it('fails a manifest without an evaluation dataset when the template requires one, scoring nothing', async () => {
    const lifecycle = await s.start({ manifest: manifest({ template: 'scored', metrics: { auc: 0.99 } }) });
    const result = await s.result(lifecycle);
    expect(result.reason).toBe('test: the template scores candidates, and the manifest names no evaluation dataset (field evaluation)');
    expect(scored.some((c) => c.modelVersionId === lifecycle.modelVersionId)).toBe(false);
    expect(s.fakes.callsOf('evaluateModel', lifecycle.workflowId)).toEqual([]);
  });

  it('judges the declared metrics as before when the template lets a manifest come without a dataset', async () => {
    const lifecycle = await s.start({ manifest: manifest({ template: 'scored', metrics: { auc: 0.75 }, tags: ['declared-ok'] }) });
    await s.fakes.transition(lifecycle.workflowId, 'scan');
    const test = await s.fakes.transition(lifecycle.workflowId, 'test');
    expect(test).toMatchObject({ outcome: 'passed', detail: { minMetrics: { auc: 0.7 } } });
    expect(test.detail).not.toHaveProperty('method');
    expect(s.fakes.callsOf('evaluateModel', lifecycle.workflowId)[0]?.input).toMatchObject({ metrics: { auc: 0.75 }, minMetrics: { auc: 0.7 } });
  });
});

describe('scan gate', () => {
  it('passes findings below the blocking severity', async () => {
    const m = manifest({ template: 'standard' });
    const lifecycle = await s.start({ manifest: m });
    s.fakes.scan(lifecycle.workflowId, { maxSeverity: 'medium' });
    await s.fakes.transition(lifecycle.workflowId, 'approval:entered');
    const scan = await s.fakes.transition(lifecycle.workflowId, 'scan');
    expect(scan).toMatchObject({ outcome: 'passed', detail: { maxSeverity: 'medium', blockAt: 'high' }, report: { kind: 'scan' } });
    // The scan gets the manifest's artifacts, and its dependencies and licence to judge; it runs on the compute queue.
    const call = s.fakes.callsOf('scanArtifacts', lifecycle.workflowId)[0];
    expect(call?.input).toEqual({ modelVersionId: lifecycle.modelVersionId, artifacts: m.artifacts, dependencies: m.dependencies });
    expect(call?.taskQueue).toMatch(/-compute$/);
  });

  it('fails findings at the blocking severity and ends the lifecycle', async () => {
    const m = manifest({ template: 'standard' });
    const lifecycle = await s.start({ manifest: m });
    s.fakes.scan(lifecycle.workflowId, { maxSeverity: 'high' });
    const result = await s.result(lifecycle);
    expect(result).toEqual({ modelVersionId: lifecycle.modelVersionId, endedBy: 'failed-scan', reason: 'security findings at or above the blocking severity' });
    expect(s.fakes.path(lifecycle.workflowId)).toEqual(['register:passed', 'test:passed', 'scan:failed', 'retire:completed']);
    expect(s.fakes.transitions(lifecycle.workflowId)[2]?.detail).toEqual({ maxSeverity: 'high', blockAt: 'high' });
  });

  it('fails naming the problem when every attempt of the scan fails', async () => {
    const lifecycle = await s.start({ manifest: manifest({ template: 'standard' }) });
    s.fakes.scan(lifecycle.workflowId, { throws: 'artifact store unavailable: connection reset' });
    // Awaiting the result skips the retry back-off (5 s, then 10 s of server time).
    const result = await s.result(lifecycle);
    expect(result.endedBy).toBe('failed-scan');
    expect(result.reason).toBe('scan: the scan could not complete: artifact store unavailable: connection reset');
    expect(s.fakes.callsOf('scanArtifacts', lifecycle.workflowId).map((c) => c.attempt)).toEqual([1, 2, 3]);
    const scan = s.fakes.transitions(lifecycle.workflowId).find((t) => t.stage === 'scan');
    expect(scan).toMatchObject({ outcome: 'failed', actor: 'steward', detail: { blockAt: 'high', problem: 'artifact store unavailable: connection reset' } });
    expect(scan?.report).toBeUndefined();
  });
});

describe('custom stages (rules-model)', () => {
  it('runs the template’s own check and ends the lifecycle with its reason when it fails', async () => {
    const lifecycle = await s.start({ manifest: manifest({ template: 'rules-model', kind: 'ml' }) });
    const result = await s.result(lifecycle);
    expect(result).toEqual({
      modelVersionId: lifecycle.modelVersionId,
      endedBy: 'failed-test',
      reason: 'model-kind: rules-model is for rules and vendor models, not ml; use standard or high-risk',
    });
    expect(s.fakes.path(lifecycle.workflowId)).toEqual(['register:passed', 'test/model-kind:failed', 'retire:completed']);
    expect(s.fakes.callsOf('evaluateModel', lifecycle.workflowId)).toEqual([]);
  });

  it('passes a rules model on to its backtest, scan and business approval', async () => {
    const m = manifest({ template: 'rules-model', kind: 'rules', framework: 'drools', metrics: { backtestAgreement: 0.99, ruleConflicts: 0 } });
    const lifecycle = await s.start({ manifest: m });
    await s.fakes.transition(lifecycle.workflowId, 'approval:entered');
    expect(s.fakes.path(lifecycle.workflowId)).toEqual(['register:passed', 'test/model-kind:passed', 'test/backtest:passed', 'scan:passed', 'approval:entered']);
    expect(s.fakes.transitions(lifecycle.workflowId)[1]?.detail).toEqual({ reason: 'a rules model' });
    expect(s.fakes.transitions(lifecycle.workflowId)[2]?.detail).toEqual({ minMetrics: { backtestAgreement: 0.98 }, maxMetrics: { ruleConflicts: 0 } });
    expect(s.fakes.transitions(lifecycle.workflowId)[4]?.detail).toMatchObject({ groups: ['business'], quorum: 1 });
  });
});

describe('parallel stages (high-risk evidence)', () => {
  const evidence = (workflowId: string) =>
    s.fakes
      .path(workflowId)
      .filter((p) => p.startsWith('test') || p.startsWith('scan'))
      .sort();

  it('runs performance, fairness and scan side by side and opens the gate when all pass', async () => {
    const lifecycle = await s.start({ manifest: manifest({ template: 'high-risk' }) });
    await s.fakes.transition(lifecycle.workflowId, 'approval:entered');
    expect(evidence(lifecycle.workflowId)).toEqual(['scan:passed', 'test/fairness:passed', 'test/performance:passed']);
    const fairness = s.fakes.transitions(lifecycle.workflowId).find((t) => t.step === 'fairness');
    expect(fairness).toMatchObject({ stage: 'test', detail: { reason: 'fairness metrics within bounds', protectedAttributes: ['age_band'] }, report: { kind: 'evaluation' } });
    expect(s.fakes.callsOf('evaluateModel', lifecycle.workflowId).map((c) => c.input.minMetrics)).toEqual(
      expect.arrayContaining([{ auc: 0.8 }, { disparateImpactRatio: 0.8 }]),
    );
  });

  it('ends the lifecycle when one of them fails, after all of them are on record', async () => {
    const lifecycle = await s.start({ manifest: manifest({ template: 'high-risk', protectedAttributes: [] }) });
    const result = await s.result(lifecycle);
    expect(result).toMatchObject({ endedBy: 'failed-test', reason: 'fairness: declares no protectedAttributes to measure fairness over' });
    expect(evidence(lifecycle.workflowId)).toEqual(['scan:passed', 'test/fairness:failed', 'test/performance:passed']);
    expect(s.fakes.path(lifecycle.workflowId).at(-1)).toBe('retire:completed');
  });

  it('blocks at the template’s own severity: a medium finding fails high-risk’s scan', async () => {
    const lifecycle = await s.start({ manifest: manifest({ template: 'high-risk' }) });
    s.fakes.scan(lifecycle.workflowId, { maxSeverity: 'medium' });
    expect(await s.result(lifecycle)).toMatchObject({ endedBy: 'failed-scan', reason: 'security findings at or above the blocking severity' });
    expect(evidence(lifecycle.workflowId)).toEqual(['scan:failed', 'test/fairness:passed', 'test/performance:passed']);
  });

  it('names the first failing step in the template’s order when several fail', async () => {
    const lifecycle = await s.start({ manifest: manifest({ template: 'high-risk', metrics: { auc: 0.75, disparateImpactRatio: 0.9, equalOpportunityDifference: 0.02 } }) });
    s.fakes.scan(lifecycle.workflowId, { maxSeverity: 'critical' });
    expect(await s.result(lifecycle)).toMatchObject({ endedBy: 'failed-test', reason: "performance: metrics outside the template's bounds" });
    expect(evidence(lifecycle.workflowId)).toEqual(['scan:failed', 'test/fairness:passed', 'test/performance:failed']);
  });
});

describe('retire during an automated gate', () => {
  it('cancels a running scan, records it as cancelled on the retiring person’s word and retires', async () => {
    const lifecycle = await s.start({ manifest: manifest({ template: 'standard' }) });
    s.fakes.scan(lifecycle.workflowId, { hangs: true });
    await s.fakes.waitFor('the scan to start', (c) => c.activity === 'scanArtifacts' && c.workflowId === lifecycle.workflowId);
    const result = await s.retire(lifecycle, people.erin, 'withdrawn: wrong artifact uploaded');
    expect(result).toEqual({ modelVersionId: lifecycle.modelVersionId, endedBy: 'retired', reason: 'withdrawn: wrong artifact uploaded' });
    expect(s.fakes.path(lifecycle.workflowId)).toEqual(['register:passed', 'test:passed', 'scan:cancelled', 'retire:completed']);
    expect(s.fakes.transitions(lifecycle.workflowId)[2]).toMatchObject({ actor: 'erin', detail: { reason: 'withdrawn: wrong artifact uploaded' } });
    // The read itself was stopped, not left running.
    await s.fakes.waitFor('the scan activity to see its cancellation', (c) => c.activity === 'scanArtifacts:cancelled' && c.workflowId === lifecycle.workflowId);
  });
});
