import { ApplicationFailure, Context } from '@temporalio/activity';
import { evaluateMetrics, judgeEvaluation, type EvaluationBounds, type MetricCheck, type TestReport } from '../core/gates.js';
import { summaryMeasurement, type ContractProbe, type EvaluatePolicy, type EvaluationMeasurement, type EvaluationVerdict } from '../core/evaluation.js';
import type { ModelManifest } from '../core/manifest.js';
import type { ReportRef } from '../core/reports.js';
import type { ContentStore } from '../evidence/content-store.js';
import { RuntimeError } from '../runtimes/oip.js';
import { modelToServe, runtimeModelName, type ModelRuntime } from '../runtimes/runtime.js';
import { DatasetProblem } from './datasets.js';
import type { RuntimeLookup } from './deployment.js';
import type { ChampionLookup } from './evaluation/champion.js';
import { measureLatency, probeEdgeCases, schemaProbe } from './evaluation/contract.js';
import { loadEvaluationRows, type EvaluationRows } from './evaluation/dataset.js';
import { fairnessMetrics } from './evaluation/fairness.js';
import { classificationMetrics, MetricInputError, regressionMetrics } from './evaluation/metrics.js';
import { OutputContractError, scoreRows } from './evaluation/scoring.js';
import { activityReadControl, datasetReads, type ReadSettings } from './read-uri.js';

export { evaluateMetrics, type MetricCheck, type TestReport };

export function testingActivities(store: ContentStore) {
  return {
    /** The test gate's activity: judges the metrics and files the full report in the content store. */
    async evaluateModel(input: {
      modelVersionId: string;
      metrics: Readonly<Record<string, number>>;
      minMetrics: Readonly<Record<string, number>>;
      /** Absent in histories recorded before templates could bound a metric from above. */
      maxMetrics?: Readonly<Record<string, number>>;
    }): Promise<{ passed: boolean; report: ReportRef }> {
      const result = evaluateMetrics(input.metrics, input.minMetrics, input.maxMetrics);
      const digest = await store.put({ kind: 'evaluation', ...input, ...result });
      return { passed: result.passed, report: { kind: 'evaluation', digest, summary: { ...result } } };
    },
  };
}

export interface ScoringEvaluationInput {
  readonly modelVersionId: string;
  /** The candidate's manifest: its evaluation dataset, schemas, artifacts, target and claims. */
  readonly manifest: ModelManifest;
  readonly bounds: EvaluationBounds;
  readonly policy: EvaluatePolicy;
}

export interface ScoringEvaluationResult {
  readonly passed: boolean;
  /** The failed checks' messages, each naming metric, measured value, claim and threshold. */
  readonly failures: readonly string[];
  readonly report: ReportRef;
}

export interface EvaluationDeps {
  readonly evidence: ContentStore;
  readonly reading: ReadSettings;
  readonly runtimes: RuntimeLookup;
  readonly champion: ChampionLookup;
}

/** The staging slot a version is evaluated in: a name of its own, so it never replaces the served copy. */
export function evaluationSlot(modelVersionId: string): string {
  return `${runtimeModelName(modelVersionId)}-evaluation`;
}

/** Error type of an evaluation that can never succeed (bad dataset, unknown target, a runtime refusing the model). */
export const EVALUATION_REFUSED = 'EvaluationRefused';

function heartbeat(details: unknown): void {
  Context.current().heartbeat(details);
}

function refused(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: EVALUATION_REFUSED, message, nonRetryable: true });
}

/** Final failures for what retrying cannot fix; outages (a runtime's 5xx, a lost connection) are retried. */
function asFailure(err: unknown, doing: string): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof DatasetProblem || err instanceof MetricInputError) return refused(err.message);
  if (err instanceof RuntimeError && !err.retryable) return refused(`${doing}: ${err.message}`);
  if (err instanceof Error) return new Error(`${doing}: ${err.message}`, { cause: err });
  return err;
}

/** Loads a version into its evaluation slot, runs `use`, and unloads it whatever happened. */
async function inSlot<T>(runtime: ModelRuntime, manifest: ModelManifest, modelVersionId: string, signal: AbortSignal, use: (slot: string) => Promise<T>): Promise<T> {
  const slot = evaluationSlot(modelVersionId);
  const beat = setInterval(() => heartbeat({ loading: modelVersionId }), 2_000);
  try {
    await runtime.load({ ...modelToServe(manifest, modelVersionId), name: slot }, { signal });
  } catch (err) {
    throw asFailure(err, `loading ${modelVersionId} into an evaluation slot`);
  } finally {
    clearInterval(beat);
  }
  try {
    return await use(slot);
  } finally {
    await runtime.unload(slot).catch(() => undefined);
  }
}

function scoreOutput(manifest: ModelManifest): string {
  return manifest.evaluation?.output ?? manifest.outputSchema.find((f) => f.type === 'number')!.name;
}

function modelMetrics(task: 'classification' | 'regression', labels: Float64Array, scores: Float64Array, threshold: number): Record<string, number> {
  return task === 'classification' ? { ...classificationMetrics(labels, scores, { threshold }) } : { ...regressionMetrics(labels, scores) };
}

/**
 * Scores the version in a slot and computes its metrics; an output that breaks the schema is a failed
 * contract probe rather than an error, so the report says what broke.
 */
async function scoreVersion(
  runtime: ModelRuntime,
  slot: string,
  manifest: ModelManifest,
  rows: EvaluationRows,
  policy: EvaluatePolicy,
  signal: AbortSignal,
): Promise<{ scores: Float64Array | null; metrics: Record<string, number>; contract: ContractProbe }> {
  const task = manifest.evaluation!.task;
  try {
    const scores = await scoreRows(runtime, rows.inputs, {
      model: slot,
      inputSchema: manifest.inputSchema,
      outputSchema: manifest.outputSchema,
      output: scoreOutput(manifest),
      batchRows: policy.batchRows,
      signal,
      onProgress: (rowsScored) => heartbeat({ scoring: slot, rowsScored }),
    });
    if (task === 'classification') {
      const outside = scores.findIndex((s) => s < 0 || s > 1);
      if (outside >= 0) {
        return { scores: null, metrics: {}, contract: schemaProbe(`row ${outside + 1}: output ${scoreOutput(manifest)} is ${scores[outside]}, not a probability in [0, 1]`) };
      }
    }
    return { scores, metrics: modelMetrics(task, rows.labels, scores, policy.threshold), contract: schemaProbe(null) };
  } catch (err) {
    if (err instanceof OutputContractError) return { scores: null, metrics: {}, contract: schemaProbe(err.message) };
    throw asFailure(err, `scoring ${slot}`);
  }
}

/**
 * The test gate by scoring, on the compute queue: the candidate is loaded into an evaluation slot of its
 * target's runtime, scores the manifest's evaluation dataset in batches, answers edge cases and a latency run;
 * the champion (the version serving the model on the same target) is scored on the same rows in the same
 * attempt. The verdict (core/gates.ts judgeEvaluation) and the full report go to the content store.
 */
export async function evaluateByScoring(input: ScoringEvaluationInput, deps: EvaluationDeps): Promise<ScoringEvaluationResult> {
  const { manifest, modelVersionId, policy } = input;
  const spec = manifest.evaluation;
  if (!spec) throw refused(`${modelVersionId}: the manifest names no evaluation dataset (field evaluation)`);
  const control = activityReadControl();
  const signal = control.signal;
  const attributes = spec.task === 'classification' ? (spec.protectedAttributes ?? manifest.protectedAttributes) : [];

  let rows: EvaluationRows;
  try {
    rows = await loadEvaluationRows(spec, manifest.inputSchema, attributes, { ...datasetReads(deps.reading), signal, onBytes: control.onBytes });
  } catch (err) {
    throw asFailure(err, `reading ${spec.dataset.uri}`);
  }
  let runtime: ModelRuntime;
  try {
    runtime = deps.runtimes.forTarget(manifest.deploymentTarget);
  } catch (err) {
    throw refused((err as Error).message);
  }

  const candidate = await inSlot(runtime, manifest, modelVersionId, signal, async (slot) => {
    const scored = await scoreVersion(runtime, slot, manifest, rows, policy, signal);
    const contract = [scored.contract];
    let latency: EvaluationMeasurement['latency'] = null;
    try {
      if (policy.latency && scored.scores) latency = await measureLatency(runtime, slot, manifest.inputSchema, rows.inputs, policy.latency.batch, { signal, onProgress: (requests) => heartbeat({ latency: slot, requests }) });
      if (policy.edgeCases) contract.push(...(await probeEdgeCases(runtime, manifest.inputSchema, { model: slot, outputSchema: manifest.outputSchema, timeoutMs: policy.edgeCases.timeoutMs, signal, onProgress: (probe) => heartbeat({ probed: probe }) })));
    } catch (err) {
      throw asFailure(err, `probing ${slot}`);
    }
    return { ...scored, contract, latency };
  });

  const fairness: Record<string, Record<string, number>> = {};
  if (candidate.scores && spec.task === 'classification') {
    const predicted = Array.from(candidate.scores, (s) => (s >= policy.threshold ? 1 : 0));
    for (const [attribute, groups] of rows.groups) fairness[attribute] = { ...fairnessMetrics(rows.labels, predicted, groups) };
  }

  let champion: EvaluationMeasurement['champion'] = null;
  if (Object.keys(policy.vsChampion).length > 0) {
    const found = await deps.champion(manifest.name, manifest.deploymentTarget, modelVersionId);
    if (found) {
      // The champion is judged by the candidate's rows, label and output, whatever its own manifest declares.
      const asCandidate: ModelManifest = { ...found.manifest, deploymentTarget: manifest.deploymentTarget, evaluation: { ...spec, output: found.manifest.evaluation?.output ?? spec.output } };
      const scored = await inSlot(runtime, asCandidate, found.modelVersionId, signal, (slot) => scoreVersion(runtime, slot, asCandidate, rows, policy, signal));
      champion = { modelVersionId: found.modelVersionId, metrics: scored.metrics };
    }
  }

  const measurement: EvaluationMeasurement = {
    task: spec.task,
    rows: rows.labels.length,
    datasetSha256: rows.sha256,
    metrics: candidate.metrics,
    champion,
    fairness,
    latency: candidate.latency,
    contract: candidate.contract,
  };
  const verdict: EvaluationVerdict = judgeEvaluation(measurement, manifest.metrics, input.bounds, policy);
  const digest = await deps.evidence.put({ kind: 'evaluation', method: 'scoring', modelVersionId, dataset: spec.dataset.uri, bounds: input.bounds, policy, measurement, ...verdict });
  const summary = { passed: verdict.passed, method: 'scoring', measurement: summaryMeasurement(measurement), failures: verdict.failures.slice(0, 10) };
  return { passed: verdict.passed, failures: verdict.failures.slice(0, 10), report: { kind: 'evaluation', digest, summary } };
}

/** The compute worker's evaluation activity. */
export function evaluationActivities(deps: EvaluationDeps) {
  return {
    async evaluateByScoring(input: ScoringEvaluationInput): Promise<ScoringEvaluationResult> {
      return evaluateByScoring(input, deps);
    },
  };
}
