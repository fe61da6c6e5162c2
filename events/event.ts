import type { StageTransition } from '../core/stages.js';

/**
 * Something that happened to a lifecycle, as subscribers see it. The id is derived from the history
 * (workflow id plus the transition or attempt number), so the same fact always has the same id and a
 * receiver can deduplicate on it.
 */
export interface StewardEvent {
  readonly id: string;
  readonly type: string;
  readonly modelVersionId: string;
  readonly workflowId: string;
  readonly at: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export const EVENT_TYPES = [
  'stage.transition',
  'approval.attempt',
  'approval.reminder',
  'approval.escalation',
  'audit.export',
  'monitor.alert',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export function stageEvent(t: StageTransition): StewardEvent {
  return {
    id: `${t.workflowId}/stage/${t.seq}`,
    type: 'stage.transition',
    modelVersionId: t.modelVersionId,
    workflowId: t.workflowId,
    at: t.at,
    data: { seq: t.seq, stage: t.stage, outcome: t.outcome, actor: t.actor, detail: t.detail, ...(t.report ? { report: t.report } : {}) },
  };
}
