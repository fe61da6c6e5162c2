import { msToNumber } from '@temporalio/common/lib/time.js';
import { z } from './zod.js';
import { METRIC_NAME_PATTERN } from '../../core/names.js';
import { STAT_TEST_NAMES } from '../../core/drift.js';
import { SEVERITIES } from '../../core/policy.js';
import * as evaluation from '../../core/evaluation.js';
import { ALERT_SEVERITIES, BREACH_KINDS } from '../../core/alerts.js';

/**
 * The zod schemas of every stage's options. Templates are checked against them when they are loaded, so a
 * wrong option fails at worker start (and in the template's unit test), never in the middle of a lifecycle.
 *
 * They are written with zod/mini because the workflow sandbox evaluates this module for every lifecycle it
 * runs (each workflow gets its own copy of the bundle's modules): classic zod's schemas carry their methods
 * per instance, which cost about 1.1 MiB and 30 ms per lifecycle; zod/mini's are plain data over the same
 * parser, so the checks and their messages are the same.
 */

/** Milliseconds of a duration option, or NaN when it is not one. */
function durationMs(value: number | string): number {
  try {
    return msToNumber(value as never);
  } catch {
    return Number.NaN;
  }
}

const isPositiveDuration = (ms: number) => Number.isFinite(ms) && ms > 0;

export const STAT_TESTS = ['auto', ...STAT_TEST_NAMES] as const;

/**
 * Builds every stage's option schemas. A plan builds them once and drops them: the workflow sandbox keeps each
 * lifecycle's modules for as long as the lifecycle is cached, so schemas held at module level would cost every
 * cached lifecycle about 0.3 MiB for something it uses once per run.
 */
export function stageOptions() {
  /** Milliseconds, or a string such as "15m" or "2 days". */
  const duration = z.pipe(
    z.union([z.number(), z.string()]).check(
      z.refine((value) => isPositiveDuration(durationMs(value)), { error: (issue) => `must be a positive duration such as 30000, "15m" or "2 days" (got ${JSON.stringify(issue.input)})` }),
    ),
    z.transform(durationMs),
  );

  const metricName = z.string().check(z.regex(METRIC_NAME_PATTERN, 'must be a metric name'));
  const bounds = z.record(metricName, z.number());

  const MEASURED = `${[...evaluation.CLASSIFICATION_METRICS, ...evaluation.REGRESSION_METRICS].join(', ')}, or an alias such as auc`;
  /** Metric → number, every key a metric Steward measures (an unknown key is named in the error). */
  const measuredRecord = (value: z.ZodMiniNumber) =>
    z.record(z.string(), value).check(
      z.superRefine((record, ctx) => {
        for (const metric of Object.keys(record)) {
          if (evaluation.canonicalMetric(metric) === null) ctx.addIssue({ code: 'custom', path: [metric], message: `must be a metric Steward measures (${MEASURED})` });
        }
      }),
    );
  const fairnessBound = z.pipe(
    z.partialRecord(z.enum(evaluation.FAIRNESS_METRICS), z.number()),
    z.transform((r) => r as Record<string, number>),
  );
  const fairnessBounds = z.strictObject({ min: z._default(fairnessBound, {}), max: z._default(fairnessBound, {}) });
  /** A number strictly between 0 and 1 (a threshold or a share). */
  const unitInterval = () => z.number().check(z.gt(0), z.lt(1));

  /**
   * Scoring the candidate on the manifest's evaluation dataset. With it, `min` and `max` bound the measured
   * metrics and the manifest's own metrics become claims; without it (templates released before), the gate
   * judges the declared metrics as it always did.
   */
  const evaluateOptions = z.pipe(
    z.strictObject({
      /** A manifest without an evaluation dataset fails the gate (true) or is judged on its declared metrics (false). */
      required: z._default(z.boolean(), true),
      /** Metric → how much worse than the champion (same rows, same activity) the candidate may be. */
      vsChampion: z._default(measuredRecord(z.number().check(z.gte(0))), {}),
      /** A declared metric off the measured one by more than this fails; absent: claims are reported only. */
      claimTolerance: z._default(z.nullable(z.number().check(z.gte(0))), null),
      /** p50 and p95 of single-row requests over `batch` requests. */
      latency: z._default(
        z.nullable(
          z.strictObject({
            batch: z._default(z.int().check(z.gte(1), z.lte(10_000)), 100),
            p50Ms: z.optional(z.number().check(z.positive())),
            p95Ms: z.optional(z.number().check(z.positive())),
          }),
        ),
        null,
      ),
      /** Bounds on fairness metrics per protected attribute, over the scored predictions. */
      fairness: z._default(z.nullable(fairnessBounds), null),
      /** Zeros, missing values, extremes and wrong types: each a valid output or a clean error within `timeout`. */
      edgeCases: z._default(z.nullable(z.strictObject({ timeout: z._default(duration, 10_000) })), { timeout: 10_000 }),
      batchRows: z._default(z.int().check(z.gte(1), z.lte(100_000)), 256),
      threshold: z._default(unitInterval(), 0.5),
    }),
    z.transform(({ edgeCases, ...rest }) => ({ ...rest, edgeCases: edgeCases === null ? null : { timeoutMs: edgeCases.timeout } })),
  );

  const testOptions = z._default(
    z
      .strictObject({
        /** Metric → lowest acceptable value. */
        min: z._default(bounds, {}),
        /** Metric → highest acceptable value (error rates, fairness gaps). */
        max: z._default(bounds, {}),
        evaluate: z.optional(evaluateOptions),
      })
      .check(
        z.superRefine((o, ctx) => {
          if (!o.evaluate) return;
          for (const side of ['min', 'max'] as const) {
            for (const metric of Object.keys(o[side])) {
              if (evaluation.canonicalMetric(metric) === null) ctx.addIssue({ code: 'custom', path: [side, metric], message: `bounds a measured metric when evaluate is set: must be one Steward measures (${MEASURED})` });
            }
          }
        }),
      ),
    { min: {}, max: {} },
  );

  const scanOptions = z._default(z.strictObject({ blockAt: z._default(z.enum(SEVERITIES), 'high') }), { blockAt: 'high' });

  const group = z.string().check(z.regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be an approver group (lower-case letters, digits, "-", "_")'));

  const approvalOptions = z
    .strictObject({
      groups: z.array(group).check(z.minLength(1, 'must name at least one approver group')),
      quorum: z._default(z.int().check(z.gte(1)), 1),
      requireEveryGroup: z._default(z.boolean(), false),
      excludeOwningTeam: z._default(z.boolean(), false),
      deadline: z.optional(
        z
          .strictObject({
            timeout: duration,
            remindAfter: z._default(z.array(duration), []),
            escalateAfter: z.optional(duration),
            escalationGroup: z.optional(group),
            onTimeout: z._default(z.union([z.literal('reject'), z.strictObject({ escalateTo: group, extra: duration })]), 'reject'),
          })
          .check(
            z.refine((d) => (d.escalateAfter === undefined) === (d.escalationGroup === undefined), {
              message: 'escalateAfter and escalationGroup go together',
              path: ['escalationGroup'],
            }),
          ),
      ),
    })
    .check(
      z.refine((a) => !a.requireEveryGroup || a.quorum >= a.groups.length, {
        message: 'with requireEveryGroup the quorum must be at least the number of groups',
        path: ['quorum'],
      }),
      z.refine((a) => new Set(a.groups).size === a.groups.length, { message: 'lists a group twice', path: ['groups'] }),
    );

  const phaseName = z.string().check(z.regex(/^[a-z][a-z0-9-]{0,30}$/, 'must be a short lower-case name'));

  const CHALLENGE_METRICS = `${[...evaluation.CLASSIFICATION_METRICS, ...evaluation.REGRESSION_METRICS].join(', ')} (or auc)`;

  /** A metric name Steward measures, in its canonical spelling (`auc` becomes `rocAuc`). */
  const challengeMetric = z.pipe(
    z.string().check(
      z.refine((name) => evaluation.canonicalMetric(name) !== null, {
        error: (issue) => `must be a metric Steward measures: ${CHALLENGE_METRICS} (got ${JSON.stringify(issue.input)})`,
      }),
    ),
    z.transform((name) => evaluation.canonicalMetric(name)!),
  );

  /**
   * Champion against challenger (core/challenge.ts): at the end of the phase's hold the candidate is promoted only
   * if `metric` on the labelled requests of the phase beats the champion's by at least `margin`. Shadow compares the
   * requests both answered; canary each side's requests in the same span. With fewer than `minLabelled` labelled
   * rows on a side the hold is extended by up to `waitForLabels` (absent: not at all); still too few, the candidate
   * is retired unjudged and the champion keeps serving.
   */
  const challengeOptions = z.pipe(
    z.strictObject({
      metric: challengeMetric,
      /** The output tensor with the positive class's score (classification) or the prediction (regression). */
      output: z.string().check(z.minLength(1, 'must name the output tensor the metric is computed from')),
      margin: z.number().check(z.gte(0, 'must be 0 or more (how much better than the champion the candidate must be)')),
      minLabelled: z._default(z.int().check(z.gte(1)), 100),
      threshold: z._default(unitInterval(), 0.5),
      waitForLabels: z.optional(duration),
    }),
    z.transform(({ waitForLabels, ...c }) => ({
      ...c,
      task: ((evaluation.REGRESSION_METRICS as readonly string[]).includes(c.metric) ? 'regression' : 'classification') as evaluation.EvaluationTask,
      maxExtensionMs: waitForLabels ?? 0,
    })),
  );

  const shadowOptions = z.strictObject({ name: z._default(phaseName, 'shadow'), hold: duration, challenge: z.optional(challengeOptions) });
  const canaryOptions = z.strictObject({
    name: z._default(phaseName, 'canary'),
    /** Share of live traffic the candidate serves during the phase. */
    trafficPercent: z.number().check(z.gt(0), z.lt(100)),
    hold: duration,
    challenge: z.optional(challengeOptions),
  });

  const deployOptions = z._default(
    z
      .strictObject({
        /** Phases before the full rollout, in order; none means replace the champion at once. */
        phases: z._default(
          z.array(z.discriminatedUnion('mode', [z.extend(shadowOptions, { mode: z.literal('shadow') }), z.extend(canaryOptions, { mode: z.literal('canary') })])),
          [],
        ),
      })
      .check(
        z.refine((d) => new Set(d.phases.map((p) => p.name)).size === d.phases.length, { message: 'phase names must be unique', path: ['phases'] }),
        z.refine((d) => d.phases.every((p, i) => i === 0 || p.mode !== 'shadow' || d.phases[i - 1]!.mode === 'shadow'), {
          message: 'a shadow phase cannot follow a canary (it would take live traffic away again)',
          path: ['phases'],
        }),
      ),
    { phases: [] },
  );

  const latencyMs = z.number().check(z.positive());
  // The live checks measure with the test gate's definitions, so they name the same metrics.
  const { CLASSIFICATION_METRICS, REGRESSION_METRICS } = evaluation;
  const liveMetricBounds = z.partialRecord(z.enum([...CLASSIFICATION_METRICS, ...REGRESSION_METRICS]), z.number());

  const performanceOptions = z.pipe(
    z
      .strictObject({
        task: z.enum(['classification', 'regression']),
        /** The output tensor with the positive class's score (classification) or the prediction (regression). */
        output: z.string().check(z.minLength(1)),
        threshold: z._default(unitInterval(), 0.5),
        min: z._default(liveMetricBounds, {}),
        max: z._default(liveMetricBounds, {}),
        minLabels: z._default(z.int().check(z.gte(1)), 30),
      })
      .check(
        z.superRefine((p, ctx) => {
          const allowed: readonly string[] = p.task === 'classification' ? CLASSIFICATION_METRICS : REGRESSION_METRICS;
          for (const side of ['min', 'max'] as const) {
            for (const metric of Object.keys(p[side])) {
              if (!allowed.includes(metric)) ctx.addIssue({ code: 'custom', path: [side, metric], message: `is not a ${p.task} metric (${allowed.join(', ')})` });
            }
          }
        }),
      ),
    z.transform((p) => ({ ...p, min: p.min as Record<string, number>, max: p.max as Record<string, number> })),
  );

  const monitorOptions = z.strictObject({
    every: duration,
    /** Monitor cycles per workflow run before continue-as-new keeps the history bounded. */
    cyclesPerRun: z._default(z.int().check(z.gte(1), z.lte(1000)), 100),
    /** Feature drift against the reference dataset; null for models without features worth watching. */
    drift: z._default(
      z.nullable(
        z.strictObject({
          stattest: z._default(z.enum(STAT_TESTS), 'auto'),
          /** Per-column threshold; the stattest's own default (Evidently's) when absent. */
          threshold: z.optional(unitInterval()),
          /** Share of drifted columns at which the dataset counts as drifted. */
          columnShare: z._default(z.number().check(z.gt(0), z.lte(1)), 0.5),
        }),
      ),
      { stattest: 'auto', columnShare: 0.5 },
    ),
    /** Business KPIs with their acceptable range. */
    kpis: z._default(z.record(metricName, z.strictObject({ min: z.optional(z.number()), max: z.optional(z.number()) })), {}),
    maxErrorRate: z._default(z.nullable(z.number().check(z.gte(0), z.lte(1))), null),
    /** Ceilings on the gateway's latency percentiles per window, in milliseconds. */
    maxLatencyMs: z._default(z.nullable(z.strictObject({ p50: z.optional(latencyMs), p95: z.optional(latencyMs), p99: z.optional(latencyMs) })), null),
    /** Performance against ground-truth labels, per window. */
    performance: z._default(z.nullable(performanceOptions), null),
    /** Fairness over each window's labelled requests, with the test gate's metrics. */
    fairness: z._default(z.nullable(fairnessBounds), null),
    /** The model's outputs against its evaluation predictions (a column of the reference dataset). */
    predictionDrift: z._default(
      z.nullable(
        z.strictObject({
          output: z.string().check(z.minLength(1)),
          column: z.string().check(z.minLength(1)),
          stattest: z._default(z.enum(STAT_TESTS), 'auto'),
          threshold: z.optional(unitInterval()),
        }),
      ),
      null,
    ),
    /** When breaching windows raise an alert, how severe it is, and which alerts start a retrain. */
    alerts: z._default(
      z.nullable(
        z.strictObject({
          consecutive: z._default(z.int().check(z.gte(1), z.lte(100)), 1),
          cooldown: z._default(duration, 3_600_000),
          critical: z._default(z.array(z.enum(BREACH_KINDS)), []),
          retrainAt: z._default(z.nullable(z.enum(ALERT_SEVERITIES)), null),
        }),
      ),
      null,
    ),
  });

  /** Runs a training command (argv, never a shell string) on a compute worker; see core/training.ts for placeholders. */
  const commandRunnerOptions = z.pipe(
    z.strictObject({
      kind: z.literal('command'),
      argv: z.array(z.string().check(z.minLength(1, 'must not be empty'))).check(z.minLength(1, 'must name the program to run')),
      cwd: z.optional(z.string().check(z.minLength(1))),
      timeout: z._default(duration, 2 * 60 * 60_000),
    }),
    z.transform(({ timeout, ...runner }) => ({ ...runner, timeoutMs: timeout })),
  );

  /** POSTs the job to an external pipeline and waits (hours or days) for its callback. */
  const webhookRunnerOptions = z.pipe(
    z.strictObject({
      kind: z.literal('webhook'),
      url: z.string().check(z.regex(/^https?:\/\/\S+$/, 'must be an http(s) URL')),
      timeout: z._default(duration, 7 * 24 * 60 * 60_000),
    }),
    z.transform(({ timeout, ...runner }) => ({ ...runner, timeoutMs: timeout })),
  );

  const retrainOptions = z._default(
    z.pipe(
      z.strictObject({
        versionBump: z._default(z.enum(['major', 'minor', 'patch']), 'minor'),
        /** Start a retrain on its own when the monitor reports a drift breach. */
        onDrift: z._default(z.boolean(), false),
        /** How a retrain trains the next version; without one the successor reuses the parent's artifacts. */
        runner: z.optional(z.discriminatedUnion('kind', [commandRunnerOptions, webhookRunnerOptions])),
        /** Retrain on a schedule: `every` after the version went live or was last retrained. */
        schedule: z.optional(z.pipe(z.strictObject({ every: duration }), z.transform((s) => ({ everyMs: s.every })))),
        /** Automatic triggers (drift, alerts, the schedule) wait at least this long after the last retrain. */
        minInterval: z.optional(duration),
      }),
      z.transform(({ minInterval, ...retrain }) => ({ ...retrain, ...(minInterval !== undefined ? { minIntervalMs: minInterval } : {}) })),
    ),
    { versionBump: 'minor', onDrift: false },
  );

  const retireOptions = z._default(
    z.strictObject({
      /** Retire the version this long after it reached production, whatever else happens. */
      maxLifetime: z._default(z.nullable(duration), null),
    }),
    { maxLifetime: null },
  );

  const customOptions = z.strictObject({ phase: z.enum(['test', 'scan', 'approval']) });

  return { testOptions, scanOptions, approvalOptions, shadowOptions, canaryOptions, deployOptions, monitorOptions, retrainOptions, retireOptions, customOptions };
}

export type StageOptions = ReturnType<typeof stageOptions>;
