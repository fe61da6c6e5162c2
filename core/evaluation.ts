/**
 * The test gate's evaluation by scoring, as data: the settings a template gives it, what the activity measured
 * by scoring the candidate (and the champion) on held-out data, and the checks the verdict is made of. The
 * verdict itself is `judgeEvaluation` in gates.ts, shared by the activity and the policy preview.
 */

export const CLASSIFICATION_METRICS = ['accuracy', 'precision', 'recall', 'f1', 'rocAuc', 'logLoss'] as const;
export const REGRESSION_METRICS = ['rmse', 'mae', 'mape', 'r2'] as const;
export const FAIRNESS_METRICS = ['demographicParityDifference', 'demographicParityRatio', 'equalizedOddsDifference', 'equalOpportunityDifference'] as const;
export type ModelMetric = (typeof CLASSIFICATION_METRICS)[number] | (typeof REGRESSION_METRICS)[number];
export type FairnessMetric = (typeof FAIRNESS_METRICS)[number];
export type EvaluationTask = 'classification' | 'regression';

/** Metrics where a smaller value is better: "worse than the champion" means larger for these. */
export const LOWER_IS_BETTER: ReadonlySet<string> = new Set(['logLoss', 'rmse', 'mae', 'mape']);

/** Other spellings manifests and templates use for the same metric (a manifest's `auc` is a ROC AUC claim). */
export const METRIC_ALIASES: Readonly<Record<string, ModelMetric>> = {
  auc: 'rocAuc',
  roc_auc: 'rocAuc',
  rocauc: 'rocAuc',
  log_loss: 'logLoss',
  logloss: 'logLoss',
  f1_score: 'f1',
  r_squared: 'r2',
};

/** The canonical name of a metric, or null when Steward does not measure it. */
export function canonicalMetric(name: string): ModelMetric | null {
  const known: readonly string[] = [...CLASSIFICATION_METRICS, ...REGRESSION_METRICS];
  if (known.includes(name)) return name as ModelMetric;
  return METRIC_ALIASES[name] ?? METRIC_ALIASES[name.toLowerCase()] ?? null;
}

/** A template's scoring settings (testOptions' `evaluate`, validated). */
export interface EvaluatePolicy {
  /** Without an evaluation dataset in the manifest: fail (true), or judge the declared metrics as before (false). */
  readonly required: boolean;
  /** Metric → how much worse than the champion the candidate may be. */
  readonly vsChampion: Readonly<Record<string, number>>;
  /** A declared metric further than this from the measured one fails; null: claims are reported, not judged. */
  readonly claimTolerance: number | null;
  readonly latency: { readonly batch: number; readonly p50Ms?: number; readonly p95Ms?: number } | null;
  readonly fairness: { readonly min: Readonly<Record<string, number>>; readonly max: Readonly<Record<string, number>> } | null;
  /** Edge-case requests (zeros, missing values, extremes, wrong types); null skips them. */
  readonly edgeCases: { readonly timeoutMs: number } | null;
  /** Rows per inference request while scoring the dataset. */
  readonly batchRows: number;
  /** A classifier's score at or above this predicts the positive class. */
  readonly threshold: number;
}

/** One edge-case or contract probe: what was sent, and whether the answer was a valid output or a clean error. */
export interface ContractProbe {
  readonly name: string;
  /** `output`: a valid answer; `refused`: a clean 4xx naming the problem; the rest fail the gate. */
  readonly outcome: 'output' | 'refused' | 'invalid-output' | 'timeout' | 'crash';
  readonly detail: string;
  readonly passed: boolean;
}

export interface LatencyMeasure {
  readonly batch: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
}

/** Everything the evaluation activity measured; the verdict is computed from this alone. */
export interface EvaluationMeasurement {
  readonly task: EvaluationTask;
  readonly rows: number;
  readonly datasetSha256: string;
  readonly metrics: Readonly<Record<string, number>>;
  /** The version in production on the same target, scored on the same rows; null when there is none. */
  readonly champion: { readonly modelVersionId: string; readonly metrics: Readonly<Record<string, number>> } | null;
  /** Protected attribute → fairness metrics over its groups. */
  readonly fairness: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly latency: LatencyMeasure | null;
  readonly contract: readonly ContractProbe[];
}

export type EvaluationCheckKind = 'threshold' | 'champion' | 'claim' | 'fairness' | 'latency' | 'contract';

export interface EvaluationCheck {
  readonly kind: EvaluationCheckKind;
  /** The metric (`rocAuc`, `p95Ms`, `demographicParityRatio`) or the probe's name. */
  readonly metric: string;
  /** null when it could not be measured (one class only, a probe with no number). */
  readonly measured: number | null;
  /** What the manifest declared, when it declared this metric. */
  readonly claimed?: number | null;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly champion?: number;
  readonly attribute?: string;
  readonly passed: boolean;
  /** One sentence naming metric, measured value, claim and threshold. */
  readonly message: string;
}

export interface EvaluationVerdict {
  readonly passed: boolean;
  readonly checks: readonly EvaluationCheck[];
  /** The failed checks' messages, for the transition's reason. */
  readonly failures: readonly string[];
}

/**
 * The measurement as the report summary in history carries it, so a policy preview can judge it again without
 * the content store: every number, and only the contract probes that failed (their detail shortened).
 */
export function summaryMeasurement(m: EvaluationMeasurement): EvaluationMeasurement {
  return { ...m, contract: m.contract.filter((p) => !p.passed).map((p) => ({ ...p, detail: p.detail.slice(0, 300) })) };
}

/** The measurement a recorded report summary carries, or null (declared-metrics evaluations, older histories). */
export function measurementOfSummary(summary: Readonly<Record<string, unknown>> | undefined): EvaluationMeasurement | null {
  const measured = summary?.measurement;
  return measured && typeof measured === 'object' && 'metrics' in measured ? (measured as EvaluationMeasurement) : null;
}
