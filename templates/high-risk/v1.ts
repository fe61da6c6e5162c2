import { defineTemplate, stage } from '../../workflows/dsl/index.js';

/** Credit, pricing and other models a regulator asks about: more evidence, more people, slower rollout. */
export default defineTemplate({
  name: 'high-risk',
  version: 1,
  description:
    'Performance and fairness gates side by side with a medium-severity scan, two distinct risk approvers outside the owning team, three days of shadow then a 10% canary, 15-minute monitoring with tighter drift, retrain on drift, one-year lifetime.',
  lifecycle: () => ({
    gates: [
      stage.parallel('evidence', [
        stage.test({ name: 'performance', min: { auc: 0.8 } }),
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
    monitor: stage.monitor({ every: '15m', drift: { stattest: 'auto', columnShare: 0.3 }, maxErrorRate: 0.01 }),
    retrain: stage.retrain({ versionBump: 'minor', onDrift: true }),
    retire: stage.retire({ maxLifetime: '365 days' }),
  }),
});
