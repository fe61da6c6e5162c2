/** The monitor window rule lives in core, shared with the policy preview. */
export { judgeWindow, type WindowVerdict } from '../core/observation.js';
