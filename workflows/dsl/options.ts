import { msToNumber } from '@temporalio/common/lib/time.js';
import { z } from 'zod';
import { METRIC_NAME_PATTERN } from '../../core/names.js';
import { STAT_TEST_NAMES } from '../../core/drift.js';
import { SEVERITIES } from '../../core/policy.js';

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

export const testOptions = z
  .strictObject({
    /** Metric → lowest acceptable value. */
    min: bounds.default({}),
    /** Metric → highest acceptable value (error rates, fairness gaps). */
    max: bounds.default({}),
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

export const shadowOptions = z.strictObject({ name: phaseName.default('shadow'), hold: duration });
export const canaryOptions = z.strictObject({
  name: phaseName.default('canary'),
  /** Share of live traffic the candidate serves during the phase. */
  trafficPercent: z.number().gt(0).lt(100),
  hold: duration,
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
});

export const retrainOptions = z
  .strictObject({
    versionBump: z.enum(['major', 'minor', 'patch']).default('minor'),
    /** Start a retrain on its own when the monitor reports a drift breach. */
    onDrift: z.boolean().default(false),
  })
  .default({ versionBump: 'minor', onDrift: false });

export const retireOptions = z
  .strictObject({
    /** Retire the version this long after it reached production, whatever else happens. */
    maxLifetime: duration.nullable().default(null),
  })
  .default({ maxLifetime: null });

export const customOptions = z.strictObject({ phase: z.enum(['test', 'scan', 'approval']) });
