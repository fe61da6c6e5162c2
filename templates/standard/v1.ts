import type { ModelManifest } from '../../core/manifest.js';
import { defineTemplate, stage } from '../../workflows/dsl/index.js';

const elevated = (m: ModelManifest) => m.riskTier === 'high' || m.riskTier === 'critical';

/** The default: most models get this lifecycle. */
export default defineTemplate({
  name: 'standard',
  version: 1,
  description:
    'Metric floor for ML models, security scan, one risk approver (two and a day of shadow traffic for high-risk tiers), hourly monitoring with Evidently-default drift.',
  lifecycle: (m) => ({
    gates: [
      stage.test({ min: m.kind === 'ml' ? { auc: 0.7 } : {} }),
      stage.scan({ blockAt: 'high' }),
      stage.approval({
        groups: ['risk'],
        quorum: elevated(m) ? 2 : 1,
        deadline: { timeout: '5 days', remindAfter: ['2 days', '4 days'], onTimeout: 'reject' },
      }),
    ],
    deploy: stage.deploy({ phases: elevated(m) ? [stage.shadow({ hold: '1 day' })] : [] }),
    monitor: stage.monitor({ every: '1h', drift: m.kind === 'rules' ? null : { stattest: 'auto', columnShare: 0.5 } }),
    retrain: stage.retrain({ versionBump: 'minor' }),
  }),
});
