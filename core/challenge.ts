import { LOWER_IS_BETTER, type EvaluationTask, type ModelMetric } from './evaluation.js';

/**
 * Champion against challenger: a deploy phase (shadow or canary) whose candidate is promoted only if it beats the
 * version in production on live labelled traffic by the template's margin. The policy comes from the template,
 * the measurement from the request log and its labels (activities/challenge.ts), the verdict from `judgeChallenge`
 * here, so the rule is one pure function the workflow, its tests and the docs agree on.
 */

export interface ChallengePolicy {
  readonly metric: ModelMetric;
  readonly task: EvaluationTask;
  /** The output tensor with the positive class's score (classification) or the prediction (regression). */
  readonly output: string;
  /** A classifier's score at or above this predicts the positive class. */
  readonly threshold: number;
  /** How much better than the champion the challenger must be (higher, or lower for logLoss, rmse, mae, mape). */
  readonly margin: number;
  /** Labelled rows each side needs before the phase is judged. */
  readonly minLabelled: number;
  /** How long past its hold the phase may wait for labels; 0 judges at the end of the hold. */
  readonly maxExtensionMs: number;
}

/** What the measuring activity is asked: the phase's deployment and time span, and the metric's settings. */
export interface ChallengeRequest {
  readonly modelName: string;
  readonly target: string;
  readonly mode: 'shadow' | 'canary';
  readonly challenger: { readonly modelVersionId: string; readonly deploymentId: string };
  /** The phase's span: a canary's champion is measured on the requests it served in it. */
  readonly from: string;
  readonly to: string;
  readonly policy: Pick<ChallengePolicy, 'metric' | 'task' | 'output' | 'threshold'>;
}

export interface ChallengeSide {
  readonly modelVersionId: string;
  /** The metric on this side's labelled rows; null when undefined there (one class only) or nothing was labelled. */
  readonly value: number | null;
  /** Labelled rows (one per row a request scored) the value is computed on. */
  readonly labelled: number;
  /** Requests this side answered in the phase, labelled or not. */
  readonly requests: number;
}

export interface ChallengeMeasurement {
  readonly mode: 'shadow' | 'canary';
  readonly metric: ModelMetric;
  readonly from: string;
  readonly to: string;
  readonly challenger: ChallengeSide;
  /** The version serving the target as champion during the phase; null when there was none. */
  readonly champion: ChallengeSide | null;
  /** Gateway windows of the challenger's phase deployment the rows come from. */
  readonly windows: number;
}

export type ChallengeOutcome = 'won' | 'lost' | 'unjudged' | 'uncontested';

export interface ChallengeVerdict {
  readonly outcome: ChallengeOutcome;
  /** challenger − champion, signed so that positive is better; null when not both measured. */
  readonly improvement: number | null;
  /** One sentence naming the metric, both values and the margin: the retirement's reason when it lost. */
  readonly reason: string;
}

/** What history records about a judged (or not yet judged) challenge. */
export type ChallengeDetail = ChallengeMeasurement & {
  readonly phase: string;
  readonly outcome: ChallengeOutcome;
  readonly margin: number;
  readonly minLabelled: number;
  readonly improvement: number | null;
  readonly reason: string;
  /** Set while the hold is extended for labels: when the phase is judged at the latest. */
  readonly extendedUntil?: string;
};

const round = (x: number) => Math.round(x * 10_000) / 10_000;

/**
 * The rule: with at least `minLabelled` labelled rows on each side and the metric defined on both, the challenger
 * wins when it is better than the champion by `margin` or more. Without a champion there is nothing to beat.
 */
export function judgeChallenge(m: ChallengeMeasurement, policy: Pick<ChallengePolicy, 'margin' | 'minLabelled'>): ChallengeVerdict {
  const { metric } = m;
  const champion = m.champion;
  if (!champion) return { outcome: 'uncontested', improvement: null, reason: `no champion served during the ${m.mode} phase: nothing to challenge` };
  const short = [m.challenger, champion].some((s) => s.labelled < policy.minLabelled);
  if (short) {
    return {
      outcome: 'unjudged',
      improvement: null,
      reason: `too few labelled rows to compare ${metric}: challenger ${m.challenger.labelled}, champion ${champion.labelled}, ${policy.minLabelled} needed on each side`,
    };
  }
  if (m.challenger.value === null || champion.value === null) {
    return { outcome: 'unjudged', improvement: null, reason: `${metric} is undefined on the labelled rows (challenger ${m.challenger.value}, champion ${champion.value}; one class only?)` };
  }
  const lower = LOWER_IS_BETTER.has(metric);
  const improvement = lower ? champion.value - m.challenger.value : m.challenger.value - champion.value;
  const values = `${metric} ${round(m.challenger.value)} against the champion's ${round(champion.value)}`;
  const rows = m.mode === 'shadow' ? `${m.challenger.labelled} labelled rows both answered` : `${m.challenger.labelled} and ${champion.labelled} labelled rows`;
  const needed = `${lower ? 'lower' : 'higher'} by at least ${policy.margin}`;
  // A tiny tolerance, so that a margin met exactly is not lost to floating-point noise.
  if (improvement >= policy.margin - 1e-12) {
    return { outcome: 'won', improvement, reason: `challenger won on ${values} (margin: ${needed}; ${rows})` };
  }
  return { outcome: 'lost', improvement, reason: `challenger lost on ${values} (needed ${needed}; ${rows})` };
}

/** A retrained successor that lost its challenge (or was never judged) tells its parent, which may retrain again. */
export interface ChallengerRetiredNotice {
  readonly successorWorkflowId: string;
  readonly successorVersion: string;
  readonly reason: string;
}
