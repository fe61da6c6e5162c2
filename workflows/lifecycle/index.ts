import { setHandler } from '@temporalio/workflow';
import type { LifecycleInput, LifecycleResult, ModelLifecycle } from '../../core/lifecycle.js';
import type { TemplateRegistry } from '../dsl/registry.js';
import { statusQuery } from '../messages.js';
import { createContext } from './context.js';
import * as approval from './stages/approval.js';
import * as deploy from './stages/deploy.js';
import * as gates from './stages/gates.js';
import * as monitor from './stages/monitor.js';
import * as register from './stages/register.js';
import * as retire from './stages/retire.js';
import * as retrain from './stages/retrain.js';
import * as windows from './stages/windows.js';

export type { LifecycleInput, LifecycleResult, ModelLifecycle } from '../../core/lifecycle.js';

/**
 * Builds the lifecycle workflow over a template registry. The workflow bundle passes the released
 * templates; tests of template evolution pass registries of their own.
 */
export function defineLifecycle(registry: TemplateRegistry): ModelLifecycle {
  /**
   * The life of one model version: register → the template's gates (test, scan, approval, custom and
   * parallel stages) → deploy (through the template's shadow and canary phases) → monitor loop → retrain →
   * retire. Every stage records its outcome through `recordStage`, so the history alone tells what happened,
   * when, on whose word, and under which template version.
   */
  return async function modelLifecycle(input: LifecycleInput): Promise<LifecycleResult> {
    const ctx = createContext(input, registry);
    // Each stage answers its own messages.
    approval.handle(ctx);
    retrain.handle(ctx);
    retire.handle(ctx);
    deploy.handle(ctx);
    windows.handle(ctx);
    setHandler(statusQuery, () =>
      ctx.state.status({ modelVersionId: ctx.versionId, template: ctx.plan.template, parentWorkflowId: input.lineage?.parentWorkflowId ?? null }, ctx.driftUnwatchedBecause),
    );

    if (input.resume) return monitor.run(ctx);
    await register.run(ctx);
    const stopped = (await gates.run(ctx)) ?? (await deploy.run(ctx));
    if (stopped) return retire.run(ctx, stopped);
    return monitor.run(ctx);
  };
}
