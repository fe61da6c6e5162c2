/** What template authors import. */
export { defineTemplate, LATEST, stage, TemplateError, type LifecycleSpec, type Template, type TemplateContext, type TemplateDefinition } from './template.js';
export { TemplateRegistry, UnknownTemplateError } from './registry.js';
export type { LifecyclePlan, GateStep, StepContext, StepVerdict } from './plan.js';
