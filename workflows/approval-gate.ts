/** The approval gate's rules live in core, shared with the policy preview. */
export { dutiesOf, gateTimers, judgeAttempt, missingGroups, openGate } from '../core/approval.js';
export type { Authorship, CountedApproval, GateContext, GateState, GateTimer } from '../core/approval.js';
