import { defineTemplate, stage } from '../../workflows/dsl/index.js';

/** Decision tables, scorecards and vendor rules engines: no features to drift, judged on business outcomes. */
export default defineTemplate({
  name: 'rules-model',
  version: 1,
  description:
    'For non-ML models: a kind check, a backtest against historical decisions, a scan, one business approver; monitored on business KPIs and error rate instead of feature drift.',
  lifecycle: () => ({
    gates: [
      stage.custom('model-kind', { phase: 'test' }, async ({ manifest }) =>
        manifest.kind === 'rules' || manifest.kind === 'vendor'
          ? { passed: true, reason: `a ${manifest.kind} model` }
          : { passed: false, reason: `rules-model is for rules and vendor models, not ${manifest.kind}; use standard or high-risk` },
      ),
      stage.test({ name: 'backtest', min: { backtestAgreement: 0.98 }, max: { ruleConflicts: 0 } }),
      stage.scan({ blockAt: 'high' }),
      stage.approval({ groups: ['business'] }),
    ],
    monitor: stage.monitor({
      every: '1h',
      drift: null,
      kpis: { approvalRate: { min: 0.2, max: 0.8 }, manualReviewRate: { max: 0.15 } },
      maxErrorRate: 0.001,
    }),
    retrain: stage.retrain({ versionBump: 'patch' }),
  }),
});
