/** The lifecycle lives in lifecycle/ (one module per stage); its types in core/lifecycle.ts. */
export { defineLifecycle } from './lifecycle/index.js';
export type { EndedBy, LifecycleInput, LifecycleResult, Lineage, LifecycleCheckpoint, MonitorCheckpoint, ModelLifecycle } from '../core/lifecycle.js';
