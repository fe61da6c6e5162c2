import type { ModelManifest } from '../../core/manifest.js';
import { defineTemplate, stage } from '../../workflows/dsl/index.js';

/** The output a classifier scores with: its positive class's probability. */
const scoreOutput = (m: ModelManifest) => m.outputSchema.find((f) => f.name === 'probability' || f.name === 'score')?.name ?? null;

/**
 * Credit, pricing and other models a regulator asks about: more evidence, more people, slower rollout. Version 2
 * adds live ceilings (1% errors, p95 500 ms, performance floors and the four-fifths rule on labelled requests,
 * prediction drift) and an alert policy: two breaching windows in a row alert; drift, performance and fairness
 * alerts are critical and start a retrain.
 */
export default defineTemplate({
  name: 'high-risk',
  version: 2,
  description:
    'Performance and fairness gates side by side with a medium-severity scan, two distinct risk approvers outside the owning team, three days of shadow then a 10% canary, 15-minute monitoring with tighter drift and live ceilings, critical alerts after two breaching windows start a retrain, one-year lifetime.',
  lifecycle: (m) => {
    const score = scoreOutput(m);
    return {
      gates: [
        stage.parallel('evidence', [
          stage.test({
            name: 'performance',
            min: { auc: 0.8 },
            // A manifest with an evaluation dataset is scored, fairness on the scored rows included (docs/evaluation.md).
            evaluate: {
              required: false,
              vsChampion: { auc: 0.01 },
              claimTolerance: 0.02,
              latency: { batch: 100, p95Ms: 500 },
              fairness: { min: { demographicParityRatio: 0.8 }, max: { equalOpportunityDifference: 0.05, equalizedOddsDifference: 0.1 } },
            },
          }),
          stage.custom('fairness', { phase: 'test' }, async ({ manifest, modelVersionId, activities }) => {
            // A fairness claim needs something to slice by.
            if (manifest.protectedAttributes.length === 0) {
              return { passed: false, reason: 'declares no protectedAttributes to measure fairness over' };
            }
            const result = await activities.evaluateModel({
              modelVersionId,
              metrics: manifest.metrics,
              minMetrics: { disparateImpactRatio: 0.8 }, // the four-fifths rule
              maxMetrics: { equalOpportunityDifference: 0.05 },
            });
            return {
              passed: result.passed,
              reason: result.passed ? 'fairness metrics within bounds' : 'fairness metrics outside bounds',
              detail: { protectedAttributes: manifest.protectedAttributes },
              report: result.report,
            };
          }),
          stage.scan({ blockAt: 'medium' }),
        ]),
        stage.approval({
          groups: ['risk'],
          quorum: 2,
          excludeOwningTeam: true,
          deadline: { timeout: '10 days', remindAfter: ['3 days'], escalateAfter: '7 days', escalationGroup: 'cro', onTimeout: 'reject' },
        }),
      ],
      deploy: stage.deploy({ phases: [stage.shadow({ hold: '3 days' }), stage.canary({ trafficPercent: 10, hold: '2 days' })] }),
      monitor: stage.monitor({
        every: '15m',
        drift: { stattest: 'auto', columnShare: 0.3 },
        maxErrorRate: 0.01,
        maxLatencyMs: { p95: 500, p99: 2000 },
        performance: score ? { task: 'classification', output: score, min: { accuracy: 0.8, f1: 0.6, rocAuc: 0.8 }, minLabels: 100 } : null,
        fairness: score ? { min: { demographicParityRatio: 0.8 }, max: { equalOpportunityDifference: 0.05 } } : null,
        predictionDrift: score && m.referenceDataset ? { output: score, column: score } : null,
        alerts: { consecutive: 2, cooldown: '1h', critical: ['drift', 'prediction-drift', 'performance', 'fairness'], retrainAt: 'critical' },
      }),
      retrain: stage.retrain({ versionBump: 'minor' }),
      retire: stage.retire({ maxLifetime: '365 days' }),
    };
  },
});
