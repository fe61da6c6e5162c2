import { describe, expect, it } from 'vitest';
import { judgeChallenge, type ChallengeMeasurement } from '../../core/challenge.js';
import { defineTemplate, stage } from '../../workflows/dsl/index.js';
import { sampleManifest } from '../harness/manifests.js';
import { manifestSchema } from '../../core/manifest.js';

/** The challenge rule (core/challenge.ts) and the template option's errors (workflows/dsl/options.ts). */
const side = (modelVersionId: string, value: number | null, labelled = 100) => ({ modelVersionId, value, labelled, requests: labelled });
const measured = (metric: ChallengeMeasurement['metric'], challenger: number | null, champion: number | null, labelled = 100): ChallengeMeasurement => ({
  mode: 'canary',
  metric,
  from: '2026-01-01T00:00:00.000Z',
  to: '2026-01-02T00:00:00.000Z',
  challenger: side('m@1.1.0', challenger, labelled),
  champion: side('m@1.0.0', champion, labelled),
  windows: 4,
});

describe('judgeChallenge', () => {
  it('wins at the margin exactly and loses just under it; lower-is-better metrics count the other way', () => {
    expect(judgeChallenge(measured('rocAuc', 0.82, 0.8), { margin: 0.02, minLabelled: 50 }).outcome).toBe('won');
    expect(judgeChallenge(measured('rocAuc', 0.8199, 0.8), { margin: 0.02, minLabelled: 50 })).toMatchObject({
      outcome: 'lost',
      reason: "challenger lost on rocAuc 0.8199 against the champion's 0.8 (needed higher by at least 0.02; 100 and 100 labelled rows)",
    });
    expect(judgeChallenge(measured('logLoss', 0.3, 0.35), { margin: 0.02, minLabelled: 50 })).toMatchObject({ outcome: 'won' });
    expect(judgeChallenge(measured('rmse', 10, 9), { margin: 0, minLabelled: 50 })).toMatchObject({ outcome: 'lost', improvement: -1 });
  });

  it('is not judged with too few labels on either side or an undefined metric, and is uncontested without a champion', () => {
    expect(judgeChallenge(measured('accuracy', 0.9, 0.5, 20), { margin: 0, minLabelled: 50 }).outcome).toBe('unjudged');
    expect(judgeChallenge(measured('rocAuc', null, 0.7), { margin: 0, minLabelled: 50 }).reason).toContain('rocAuc is undefined');
    expect(judgeChallenge({ ...measured('rocAuc', 0.9, 0.7), champion: null }, { margin: 0, minLabelled: 50 }).outcome).toBe('uncontested');
  });
});

describe('the challenge option', () => {
  const plan = async (challenge: object) => {
    const manifest = manifestSchema.parse(await sampleManifest({ template: 'c' }));
    return defineTemplate({
      name: 'c',
      version: 1,
      description: 'challenge option',
      lifecycle: () => ({ gates: [], deploy: stage.deploy({ phases: [stage.canary({ trafficPercent: 10, hold: '1 day', challenge } as never)] }), monitor: stage.monitor({ every: '1h' }) }),
    }).plan(manifest);
  };

  it('plans the canonical metric, its task and the wait in milliseconds', async () => {
    const { deploy } = await plan({ metric: 'auc', output: 'probability', margin: 0.01, waitForLabels: '2 days' });
    expect(deploy.phases[0]!.challenge).toEqual({ metric: 'rocAuc', task: 'classification', output: 'probability', margin: 0.01, minLabelled: 100, threshold: 0.5, maxExtensionMs: 2 * 86_400_000 });
    expect((await plan({ metric: 'rmse', output: 'y', margin: 0 })).deploy.phases[0]!.challenge).toMatchObject({ task: 'regression', maxExtensionMs: 0 });
  });

  it('names the option and the problem for a bad metric, a negative margin or a missing output', async () => {
    await expect(plan({ metric: 'gini', output: 'p', margin: 0 })).rejects.toThrow(/stage deploy: option phases\.0\.challenge\.metric: must be a metric Steward measures: .*\(got "gini"\)/);
    await expect(plan({ metric: 'auc', output: 'p', margin: -0.1 })).rejects.toThrow(/option phases\.0\.challenge\.margin: must be 0 or more/);
    await expect(plan({ metric: 'auc', margin: 0 })).rejects.toThrow(/option phases\.0\.challenge\.output/);
    await expect(plan({ metric: 'auc', output: 'p', margin: 0, waitForLabels: 'soon' })).rejects.toThrow(/option phases\.0\.challenge\.waitForLabels: must be a positive duration/);
  });
});
