import { msToNumber } from '@temporalio/common/lib/time.js';
import { z } from 'zod';
import { METRIC_NAME_PATTERN } from '../../core/names.js';
import { STAT_TEST_NAMES } from '../../core/drift.js';
import { SEVERITIES } from '../../core/policy.js';
import * as evaluation from '../../core/evaluation.js';
import { ALERT_SEVERITIES, BREACH_KINDS } from '../../core/alerts.js';

/**
 * The zod schemas of every stage's options. Templates are checked against them when they are loaded, so a
 * wrong option fails at worker start (and in the template's unit test), never in the middle of a lifecycle.
 */

/** Milliseconds, or a string such as "15m" or "2 days". */
export const duration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  let ms = Number.NaN;
  try {
    ms = msToNumber(value as never);
  } catch {
    // reported below
  }
  if (!Number.isFinite(ms) || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: `must be a positive duration such as 30000, "15m" or "2 days" (got ${JSON.stringify(value)})` });
    return z.NEVER;
  }
  return ms;
});
export type DurationInput = z.input<typeof duration>;

const metricName = z.string().regex(METRIC_NAME_PATTERN, 'must be a metric name');
const bounds = z.record(metricName, z.number().finite());

const MEASURED = `${[...evaluation.CLASSIFICATION_METRICS, ...evaluation.REGRESSION_METRICS].join(', ')}, or an alias such as auc`;
/** Metric → number, every key a metric Steward measures (an unknown key is named in the error). */
const measuredRecord = (value: z.ZodNumber) =>
  z.record(z.string(), value).superRefine((record, ctx) => {
    for (const metric of Object.keys(record)) {
      if (evaluation.canonicalMetric(metric) === null) ctx.addIssue({ code: 'custom', path: [metric], message: `must be a metric Steward measures (${MEASURED})` });
    }
  });
const fairnessBound = z.partialRecord(z.enum(evaluation.FAIRNESS_METRICS), z.number().finite()).transform((r) => r as Record<string, number>);

/**
 * Scoring the candidate on the manifest's evaluation dataset. With it, `min` and `max` bound the measured
 * metrics and the manifest's own metrics become claims; without it (templates released before), the gate
 * judges the declared metrics as it always did.
 */
export const evaluateOptions = z
  .strictObject({
    /** A manifest without an evaluation dataset fails the gate (true) or is judged on its declared metrics (false). */
    required: z.boolean().default(true),
    /** Metric → how much worse than the champion (same rows, same activity) the candidate may be. */
    vsChampion: measuredRecord(z.number().finite().min(0)).default({}),
    /** A declared metric off the measured one by more than this fails; absent: claims are reported only. */
    claimTolerance: z.number().finite().min(0).nullable().default(null),
    /** p50 and p95 of single-row requests over `batch` requests. */
    latency: z
      .strictObject({ batch: z.number().int().min(1).max(10_000).default(100), p50Ms: z.number().positive().optional(), p95Ms: z.number().positive().optional() })
      .nullable()
      .default(null),
    /** Bounds on fairness metrics per protected attribute, over the scored predictions. */
    fairness: z.strictObject({ min: fairnessBound.default({}), max: fairnessBound.default({}) }).nullable().default(null),
    /** Zeros, missing values, extremes and wrong types: each a valid output or a clean error within `timeout`. */
    edgeCases: z.strictObject({ timeout: duration.default(10_000) }).nullable().default({ timeout: 10_000 }),
    batchRows: z.number().int().min(1).max(100_000).default(256),
    threshold: z.number().gt(0).lt(1).default(0.5),
  })
  .transform(({ edgeCases, ...rest }) => ({ ...rest, edgeCases: edgeCases === null ? null : { timeoutMs: edgeCases.timeout } }));

export const testOptions = z
  .strictObject({
    /** Metric → lowest acceptable value. */
    min: bounds.default({}),
    /** Metric → highest acceptable value (error rates, fairness gaps). */
    max: bounds.default({}),
    evaluate: evaluateOptions.optional(),
  })
  .superRefine((o, ctx) => {
    if (!o.evaluate) return;
    for (const side of ['min', 'max'] as const) {
      for (const metric of Object.keys(o[side])) {
        if (evaluation.canonicalMetric(metric) === null) ctx.addIssue({ code: 'custom', path: [side, metric], message: `bounds a measured metric when evaluate is set: must be one Steward measures (${MEASURED})` });
      }
    }
  })
  .default({ min: {}, max: {} });

export const scanOptions = z.strictObject({ blockAt: z.enum(SEVERITIES).default('high') }).default({ blockAt: 'high' });

const group = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be an approver group (lower-case letters, digits, "-", "_")');

export const approvalOptions = z
  .strictObject({
    groups: z.array(group).min(1, 'must name at least one approver group'),
    quorum: z.number().int().min(1).default(1),
    requireEveryGroup: z.boolean().default(false),
    excludeOwningTeam: z.boolean().default(false),
    deadline: z
      .strictObject({
        timeout: duration,
        remindAfter: z.array(duration).default([]),
        escalateAfter: duration.optional(),
        escalationGroup: group.optional(),
        onTimeout: z.union([z.literal('reject'), z.strictObject({ escalateTo: group, extra: duration })]).default('reject'),
      })
      .refine((d) => (d.escalateAfter === undefined) === (d.escalationGroup === undefined), {
        message: 'escalateAfter and escalationGroup go together',
        path: ['escalationGroup'],
      })
      .optional(),
  })
  .refine((a) => !a.requireEveryGroup || a.quorum >= a.groups.length, {
    message: 'with requireEveryGroup the quorum must be at least the number of groups',
    path: ['quorum'],
  })
  .refine((a) => new Set(a.groups).size === a.groups.length, { message: 'lists a group twice', path: ['groups'] });

const phaseName = z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'must be a short lower-case name');

const CHALLENGE_METRICS = `${[...evaluation.CLASSIFICATION_METRICS, ...evaluation.REGRESSION_METRICS].join(', ')} (or auc)`;

/**
 * Champion against challenger (core/challenge.ts): at the end of the phase's hold the candidate is promoted only
 * if `metric` on the labelled requests of the phase beats the champion's by at least `margin`. Shadow compares the
 * requests both answered; canary each side's requests in the same span. With fewer than `minLabelled` labelled
 * rows on a side the hold is extended by up to `waitForLabels` (absent: not at all); still too few, the candidate
 * is retired unjudged and the champion keeps serving.
 */
export const challengeOptions = z
  .strictObject({
    metric: z.string().transform((name, ctx) => {
      const metric = evaluation.canonicalMetric(name);
      if (metric === null) {
        ctx.addIssue({ code: 'custom', message: `must be a metric Steward measures: ${CHALLENGE_METRICS} (got ${JSON.stringify(name)})` });
        return z.NEVER;
      }
      return metric;
    }),
    /** The output tensor with the positive class's score (classification) or the prediction (regression). */
    output: z.string().min(1, 'must name the output tensor the metric is computed from'),
    margin: z.number().finite().min(0, 'must be 0 or more (how much better than the champion the candidate must be)'),
    minLabelled: z.number().int().min(1).default(100),
    threshold: z.number().gt(0).lt(1).default(0.5),
    waitForLabels: duration.optional(),
  })
  .transform(({ waitForLabels, ...c }) => ({
    ...c,
    task: ((evaluation.REGRESSION_METRICS as readonly string[]).includes(c.metric) ? 'regression' : 'classification') as evaluation.EvaluationTask,
    maxExtensionMs: waitForLabels ?? 0,
  }));

export const shadowOptions = z.strictObject({ name: phaseName.default('shadow'), hold: duration, challenge: challengeOptions.optional() });
export const canaryOptions = z.strictObject({
  name: phaseName.default('canary'),
  /** Share of live traffic the candidate serves during the phase. */
  trafficPercent: z.number().gt(0).lt(100),
  hold: duration,
  challenge: challengeOptions.optional(),
});

export const deployOptions = z
  .strictObject({
    /** Phases before the full rollout, in order; none means replace the champion at once. */
    phases: z
      .array(z.discriminatedUnion('mode', [shadowOptions.extend({ mode: z.literal('shadow') }), canaryOptions.extend({ mode: z.literal('canary') })]))
      .default([]),
  })
  .refine((d) => new Set(d.phases.map((p) => p.name)).size === d.phases.length, { message: 'phase names must be unique', path: ['phases'] })
  .refine((d) => d.phases.every((p, i) => i === 0 || p.mode !== 'shadow' || d.phases[i - 1]!.mode === 'shadow'), {
    message: 'a shadow phase cannot follow a canary (it would take live traffic away again)',
    path: ['phases'],
  })
  .default({ phases: [] });

export const STAT_TESTS = ['auto', ...STAT_TEST_NAMES] as const;

const latencyMs = z.number().positive().finite();
// The live checks measure with the test gate's definitions, so they name the same metrics.
const { CLASSIFICATION_METRICS, REGRESSION_METRICS } = evaluation;

const performanceOptions = z
  .strictObject({
    task: z.enum(['classification', 'regression']),
    /** The output tensor with the positive class's score (classification) or the prediction (regression). */
    output: z.string().min(1),
    threshold: z.number().gt(0).lt(1).default(0.5),
    min: z.partialRecord(z.enum([...CLASSIFICATION_METRICS, ...REGRESSION_METRICS]), z.number().finite()).default({}),
    max: z.partialRecord(z.enum([...CLASSIFICATION_METRICS, ...REGRESSION_METRICS]), z.number().finite()).default({}),
    minLabels: z.number().int().min(1).default(30),
  })
  .superRefine((p, ctx) => {
    const allowed: readonly string[] = p.task === 'classification' ? CLASSIFICATION_METRICS : REGRESSION_METRICS;
    for (const side of ['min', 'max'] as const) {
      for (const metric of Object.keys(p[side])) {
        if (!allowed.includes(metric)) ctx.addIssue({ code: 'custom', path: [side, metric], message: `is not a ${p.task} metric (${allowed.join(', ')})` });
      }
    }
  })
  .transform((p) => ({ ...p, min: p.min as Record<string, number>, max: p.max as Record<string, number> }));

export const monitorOptions = z.strictObject({
  every: duration,
  /** Monitor cycles per workflow run before continue-as-new keeps the history bounded. */
  cyclesPerRun: z.number().int().min(1).max(1000).default(100),
  /** Feature drift against the reference dataset; null for models without features worth watching. */
  drift: z
    .strictObject({
      stattest: z.enum(STAT_TESTS).default('auto'),
      /** Per-column threshold; the stattest's own default (Evidently's) when absent. */
      threshold: z.number().gt(0).lt(1).optional(),
      /** Share of drifted columns at which the dataset counts as drifted. */
      columnShare: z.number().gt(0).max(1).default(0.5),
    })
    .nullable()
    .default({ stattest: 'auto', columnShare: 0.5 }),
  /** Business KPIs with their acceptable range. */
  kpis: z.record(metricName, z.strictObject({ min: z.number().finite().optional(), max: z.number().finite().optional() })).default({}),
  maxErrorRate: z.number().min(0).max(1).nullable().default(null),
  /** Ceilings on the gateway's latency percentiles per window, in milliseconds. */
  maxLatencyMs: z.strictObject({ p50: latencyMs.optional(), p95: latencyMs.optional(), p99: latencyMs.optional() }).nullable().default(null),
  /** Performance against ground-truth labels, per window. */
  performance: performanceOptions.nullable().default(null),
  /** Fairness over each window's labelled requests, with the test gate's metrics. */
  fairness: z.strictObject({ min: fairnessBound.default({}), max: fairnessBound.default({}) }).nullable().default(null),
  /** The model's outputs against its evaluation predictions (a column of the reference dataset). */
  predictionDrift: z
    .strictObject({
      output: z.string().min(1),
      column: z.string().min(1),
      stattest: z.enum(STAT_TESTS).default('auto'),
      threshold: z.number().gt(0).lt(1).optional(),
    })
    .nullable()
    .default(null),
  /** When breaching windows raise an alert, how severe it is, and which alerts start a retrain. */
  alerts: z
    .strictObject({
      consecutive: z.number().int().min(1).max(100).default(1),
      cooldown: duration.default(3_600_000),
      critical: z.array(z.enum(BREACH_KINDS)).default([]),
      retrainAt: z.enum(ALERT_SEVERITIES).nullable().default(null),
    })
    .nullable()
    .default(null),
});

/** Runs a training command (argv, never a shell string) on a compute worker; see core/training.ts for placeholders. */
export const commandRunnerOptions = z
  .strictObject({
    kind: z.literal('command'),
    argv: z.array(z.string().min(1, 'must not be empty')).min(1, 'must name the program to run'),
    cwd: z.string().min(1).optional(),
    timeout: duration.default(2 * 60 * 60_000),
  })
  .transform(({ timeout, ...runner }) => ({ ...runner, timeoutMs: timeout }));

/** POSTs the job to an external pipeline and waits (hours or days) for its callback. */
export const webhookRunnerOptions = z
  .strictObject({
    kind: z.literal('webhook'),
    url: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL'),
    timeout: duration.default(7 * 24 * 60 * 60_000),
  })
  .transform(({ timeout, ...runner }) => ({ ...runner, timeoutMs: timeout }));

export const retrainOptions = z
  .strictObject({
    versionBump: z.enum(['major', 'minor', 'patch']).default('minor'),
    /** Start a retrain on its own when the monitor reports a drift breach. */
    onDrift: z.boolean().default(false),
    /** How a retrain trains the next version; without one the successor reuses the parent's artifacts. */
    runner: z.discriminatedUnion('kind', [commandRunnerOptions, webhookRunnerOptions]).optional(),
    /** Retrain on a schedule: `every` after the version went live or was last retrained. */
    schedule: z
      .strictObject({ every: duration })
      .transform((s) => ({ everyMs: s.every }))
      .optional(),
    /** Automatic triggers (drift, alerts, the schedule) wait at least this long after the last retrain. */
    minInterval: duration.optional(),
  })
  .transform(({ minInterval, ...retrain }) => ({ ...retrain, ...(minInterval !== undefined ? { minIntervalMs: minInterval } : {}) }))
  .default({ versionBump: 'minor', onDrift: false });

export const retireOptions = z
  .strictObject({
    /** Retire the version this long after it reached production, whatever else happens. */
    maxLifetime: duration.nullable().default(null),
  })
  .default({ maxLifetime: null });

export const customOptions = z.strictObject({ phase: z.enum(['test', 'scan', 'approval']) });
