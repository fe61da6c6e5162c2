/** What template authors import. */
export { defineTemplate, stage, TemplateError, type LifecycleSpec, type Template, type TemplateDefinition } from './template.js';
export { TemplateRegistry, UnknownTemplateError } from './registry.js';
export type { LifecyclePlan, GateStep, StepContext, StepVerdict } from './plan.js';
