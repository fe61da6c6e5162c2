import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { describe, expect, it } from 'vitest';
import { previewPolicy } from '../../audit/policy-preview.js';
import rulesModelV1 from '../../templates/rules-model/v1.js';
import standardV1 from '../../templates/standard/v1.js';
import { defineTemplate, stage } from '../../workflows/dsl/index.js';

/**
 * Policy preview on recorded histories: `template-standard.run1.json` is a real standard@1 lifecycle
 * (AUC 0.9, clean scan, approved by one risk approver, deployed).
 */
const fixture = (name: string) => historyFromJSON(JSON.parse(readFileSync(join(process.cwd(), 'test', 'fixtures', 'histories', name), 'utf8')));

const standardWith = (min: Record<string, number>, quorum = 1) =>
  defineTemplate({
    name: 'standard',
    version: 2,
    description: 'candidate',
    lifecycle: (m, context) => ({
      ...standardV1.lifecycle(m, context),
      gates: [stage.test({ min }), stage.scan({ blockAt: 'high' }), stage.approval({ groups: ['risk'], quorum })],
    }),
  });

describe('policy preview', () => {
  it('shows that a tighter metric threshold would have blocked a deployment that happened', async () => {
    const preview = await previewPolicy([fixture('template-standard.run1.json')], standardWith({ auc: 0.95 }));
    expect(preview.recorded).toMatchObject({ template: 'standard@1', deployed: true });
    expect(preview.candidate).toMatchObject({ template: 'standard@2', wouldDeploy: false, stoppedAt: 'test' });
    expect(preview.changes).toEqual([
      'would NOT have deployed: test would fail (auc 0.9 < min 0.95)',
      'test: pass → fail (auc 0.9 < min 0.95)',
      'scan: pass → not-reached (after test; alone: pass, worst finding info, blocks at high)',
      'approval: pass → not-reached (after test; alone: pass, approved by ava)',
    ]);
  });

  it('reports no change for a candidate that decides as the recorded template did', async () => {
    const preview = await previewPolicy([fixture('template-standard.run1.json')], standardWith({ auc: 0.7 }));
    expect(preview.candidate.wouldDeploy).toBe(true);
    expect(preview.changes).toEqual([]);
  });

  it('re-judges the recorded approval attempts under a larger quorum', async () => {
    const preview = await previewPolicy([fixture('template-standard.run1.json')], standardWith({ auc: 0.7 }, 2));
    expect(preview.candidate.stoppedAt).toBe('approval');
    expect(preview.changes[0]).toBe('would NOT have deployed: approval would still be waiting (1 of 2 approvals from risk (ava); the recorded attempts are not enough)');
  });

  it('counts the second approver of a recorded two-approver gate, and refuses the registrant and duplicates', async () => {
    // v1-quorum: attempts by the registrant (refused), ava, ava again (duplicate), rita; quorum 2 recorded.
    const preview = await previewPolicy([fixture('v1-quorum.run1.json')], standardWith({ auc: 0.8 }, 2));
    expect(preview.candidate.steps.find((s) => s.step === 'approval')).toEqual({ step: 'approval', decision: 'pass', why: 'approved by ava, rita' });
    expect(preview.recorded.template).toBe('inline');
  });

  it("re-judges the recorded observed windows under the candidate's monitor policy", async () => {
    // template-rules-model: window w1 (error rate 0.0005, KPIs in range) passed; w2 (0.004, approval rate 0.9) breached.
    const tighter = defineTemplate({
      ...rulesModelV1,
      version: 2,
      lifecycle: (m, context) => ({
        ...rulesModelV1.lifecycle(m, context),
        monitor: stage.monitor({ every: '1h', drift: null, kpis: { approvalRate: { min: 0.2, max: 0.95 } }, maxErrorRate: 0.0004 }),
      }),
    });
    const preview = await previewPolicy([fixture('template-rules-model.run1.json')], tighter);
    expect(preview.monitoring.map((w) => [w.recorded, w.candidate])).toEqual([
      [[], ['error rate 0.0005 > 0.0004']],
      [['error rate 0.004 > 0.001', 'approvalRate 0.9 > 0.8'], ['error rate 0.004 > 0.0004']],
    ]);
    expect(preview.changes).toEqual([
      'window w1 (2026-11-22T09:00:00Z – 2026-11-22T10:00:00Z): passed → breached (error rate 0.0005 > 0.0004)',
      'window w2 (2026-11-22T09:00:00Z – 2026-11-22T10:00:00Z): breached (error rate 0.004 > 0.001; approvalRate 0.9 > 0.8) → breached (error rate 0.004 > 0.0004)',
    ]);
  });

  it("re-judges the recorded drift verdicts under the candidate's thresholds and column share", async () => {
    // template-standard: w1 calm (nothing drifted), w2 income and debt_to_income drifted (KS p ≈ 1e-30 and 1e-13),
    // w3's sample was refused (digest mismatch) and has no statistics to re-judge.
    const withDrift = (drift: Parameters<typeof stage.monitor>[0]['drift']) =>
      defineTemplate({
        name: 'standard',
        version: 2,
        description: 'candidate',
        lifecycle: (m, context) => ({ ...standardV1.lifecycle(m, context), monitor: stage.monitor({ every: '1h', drift }) }),
      });
    const preview = async (drift: Parameters<typeof stage.monitor>[0]['drift']) => previewPolicy([fixture('template-standard.run1.json')], withDrift(drift));
    const w2 = 'w2 (2026-11-22T09:00:00Z – 2026-11-22T10:00:00Z)';

    const same = await preview({ stattest: 'auto', columnShare: 0.5 });
    expect(same.drift.map((w) => [w.recorded, w.candidate])).toEqual([
      ['passed', 'passed'],
      ['drifted', 'drifted'],
    ]);
    expect(same.changes).toEqual([]);
    expect((await preview({ stattest: 'auto', columnShare: 0.9 })).changes).toEqual([`drift in window ${w2}: drifted → passed (2 of 3 columns drift (share 0.667 < 0.9))`]);
    // A p-value threshold of 1e-20 keeps income (p ≈ 1e-30) drifted and lets debt_to_income (p ≈ 1e-13) pass.
    expect((await preview({ stattest: 'ks', threshold: 1e-20, columnShare: 0.5 })).changes).toEqual([
      `drift in window ${w2}: drifted → passed (1 of 3 columns drift (share 0.333 < 0.5))`,
    ]);
    expect((await preview(null)).drift.map((w) => w.candidate)).toEqual(['not watched', 'not watched']);
    const otherTest = await preview({ stattest: 'wasserstein', columnShare: 0.5 });
    expect(otherTest.drift.map((w) => [w.candidate, w.why])).toEqual([
      ['cannot tell', 'the candidate runs wasserstein; recomputing needs the samples'],
      ['cannot tell', 'the candidate runs wasserstein; recomputing needs the samples'],
    ]);
  });

  it('is a command: steward templates preview <history.json> --template <ref> --json', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'cli/main.ts', 'templates', 'preview', 'test/fixtures/histories/template-standard.run1.json', '--template', 'high-risk@1', '--json'],
      { cwd: process.cwd() },
    );
    const preview = JSON.parse(stdout);
    expect(preview.candidate).toMatchObject({ template: 'high-risk@1', wouldDeploy: false, stoppedAt: 'test/fairness' });
    expect(preview.candidate.steps.map((s: { step: string; decision: string }) => `${s.step}:${s.decision}`)).toEqual([
      'test/performance:pass',
      'test/fairness:fail',
      'scan:pass',
      'approval:not-reached',
    ]);
  });
});
