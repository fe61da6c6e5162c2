import type { ModelManifest } from '../../core/manifest.js';
import { defineTemplate, stage } from '../../workflows/dsl/index.js';

const elevated = (m: ModelManifest) => m.riskTier === 'high' || m.riskTier === 'critical';
/** The output a classifier scores with: its positive class's probability. */
const scoreOutput = (m: ModelManifest) => m.outputSchema.find((f) => f.name === 'probability' || f.name === 'score')?.name ?? null;

/**
 * The default: most models get this lifecycle. Version 2 holds live traffic to ceilings (version 1 passed a
 * window with 30% errors): error rate, latency, performance on labelled requests, fairness, prediction drift,
 * and an alert policy; a critical alert (performance or fairness) starts a retrain.
 */
export default defineTemplate({
  name: 'standard',
  version: 2,
  description:
    'Metric floor for ML models (measured by scoring the evaluation dataset when the manifest names one, within 0.01 AUC of the champion), security scan, one risk approver (two and a day of shadow traffic for high-risk tiers), hourly monitoring with Evidently-default drift, live ceilings (5% errors, p95 1 s, accuracy and ROC AUC floors on labels, fairness gaps), alerts after 3 breaching windows in a row, a retrain on critical alerts.',
  lifecycle: (m) => {
    const score = m.kind === 'ml' ? scoreOutput(m) : null;
    return {
      gates: [
        stage.test({
          min: m.kind === 'ml' ? { auc: 0.7 } : {},
          // A manifest with an evaluation dataset is scored (docs/evaluation.md); one without is judged on its declared metrics.
          evaluate: {
            required: false,
            vsChampion: { auc: 0.01 },
            claimTolerance: 0.05,
            latency: { batch: 100, p95Ms: 1000 },
            fairness: { max: { demographicParityDifference: 0.1, equalizedOddsDifference: 0.1 } },
          },
        }),
        stage.scan({ blockAt: 'high' }),
        stage.approval({
          groups: ['risk'],
          quorum: elevated(m) ? 2 : 1,
          deadline: { timeout: '5 days', remindAfter: ['2 days', '4 days'], onTimeout: 'reject' },
        }),
      ],
      deploy: stage.deploy({ phases: elevated(m) ? [stage.shadow({ hold: '1 day' })] : [] }),
      monitor: stage.monitor({
        every: '1h',
        drift: m.kind === 'rules' ? null : { stattest: 'auto', columnShare: 0.5 },
        maxErrorRate: 0.05,
        maxLatencyMs: { p95: 1000, p99: 5000 },
        performance: score ? { task: 'classification', output: score, min: { accuracy: 0.7, rocAuc: 0.7 }, minLabels: 50 } : null,
        fairness: score && m.protectedAttributes.length ? { max: { demographicParityDifference: 0.1, equalizedOddsDifference: 0.1 } } : null,
        predictionDrift: score && m.referenceDataset ? { output: score, column: score } : null,
        alerts: { consecutive: 3, cooldown: '6h', critical: ['performance', 'fairness'], retrainAt: 'critical' },
      }),
      retrain: stage.retrain({ versionBump: 'minor' }),
    };
  },
});
