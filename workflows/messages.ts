import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ApprovalRequest } from '../core/approval.js';
import type { LifecycleStatus, PromoteRequest, RetireRequest, RetrainRequest, RollbackRequest, SupersededNotice } from '../core/lifecycle.js';
import type { Observation } from '../core/observation.js';
import type { LabelsArrived } from '../core/live-monitoring.js';
import type { ChallengerRetiredNotice } from '../core/challenge.js';

/**
 * Messages a lifecycle accepts. Signals, not Updates: a signal is always written to history, so even a
 * refused approval attempt is part of the audit trail (a rejected Update would leave no trace). Their
 * payload types are domain types in core/.
 */
export const approvalSignal = defineSignal<[ApprovalRequest]>('approval');
export const retrainSignal = defineSignal<[RetrainRequest]>('retrain');
export const retireSignal = defineSignal<[RetireRequest]>('retire');
export const promoteSignal = defineSignal<[PromoteRequest]>('promote');
export const rollbackSignal = defineSignal<[RollbackRequest]>('rollback');
export const observationSignal = defineSignal<[Observation]>('observation');
/** The API stored ground-truth labels for requests of these windows: their performance is due. */
export const labelsSignal = defineSignal<[LabelsArrived]>('labels');
export const supersededSignal = defineSignal<[SupersededNotice]>('superseded');
/** The successor this version's retrain started did not replace it: it lost its challenge and retired. */
export const challengerRetiredSignal = defineSignal<[ChallengerRetiredNotice]>('challengerRetired');
export const statusQuery = defineQuery<LifecycleStatus>('status');

export type { ApprovalAttempt, ApprovalDecision, ApprovalRequest, ApprovalVerdict, RefusalReason } from '../core/approval.js';
export type { LifecycleStatus, PromoteRequest, RefusedByApi, RetireRequest, RetrainRequest, RollbackRequest, SupersededNotice } from '../core/lifecycle.js';
export type { DriftStatus, Observation } from '../core/observation.js';
