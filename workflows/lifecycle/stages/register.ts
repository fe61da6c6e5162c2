import { activities } from '../proxies.js';
import type { LifecycleContext } from '../context.js';

/** Register: the catalog row every later projection references, and the first transition. */
export async function run(ctx: LifecycleContext): Promise<void> {
  const { manifest, registeredBy, lineage, template } = ctx.input;
  ctx.enter('register');
  await activities.registerVersion({
    workflowId: ctx.workflowId,
    modelVersionId: ctx.versionId,
    manifest,
    registeredBy,
    // The whole link (trigger, runner, run, training data): the catalog's lineage edges carry it.
    lineage: lineage ?? null,
    at: ctx.now(),
    ...(template !== undefined ? { template } : {}),
  });
  ctx.state.registered = true;
  await ctx.record(
    {
      stage: 'register',
      outcome: 'passed',
      detail: { owner: manifest.owner, riskTier: manifest.riskTier, artifacts: manifest.artifacts.length, parent: lineage?.parentModelVersionId ?? null, template: ctx.plan.template },
    },
    registeredBy.id,
  );
}
