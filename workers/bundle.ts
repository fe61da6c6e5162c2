import { createRequire } from 'node:module';
import { bundleWorkflowCode, DefaultLogger, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

const require = createRequire(import.meta.url);

/** The workflow bundle's entry point. */
export const workflowsPath = require.resolve('./workflows.ts');

/**
 * Modules the sandbox evaluates once per worker and shares, frozen, between workflows; every other module is
 * evaluated again for each workflow it runs. Only modules without per-workflow state belong here: zod's parser,
 * whose per-lifecycle copy was most of a cached lifecycle's memory (docs/operations.md).
 */
export const sharedWorkflowModules = [require.resolve('../workflows/dsl/zod.ts')];

/**
 * OpenTelemetry's workflow interceptors, as the package documents them: each workflow and activity call gets a
 * span, parented by the client span that started the workflow. Their spans leave the sandbox through the
 * `exporter` sink that every Steward worker registers (workers/worker.ts).
 */
export const workflowInterceptorModules = [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')];

/**
 * Bundles workflows/ once. Sources use ESM `.js` specifiers for `.ts` files, which webpack must be told about.
 * Tests bundle once per run and hand the result to every worker, instead of re-bundling per worker.
 *
 * `traced: false` leaves the OpenTelemetry workflow interceptors out: they make spans for every workflow task
 * and activity call inside the sandbox (about a fifth of the workflow thread's CPU in `npm run bench:engine`),
 * which is waste when no exporter takes them. Replay is unaffected either way: the interceptors add no commands.
 */
export async function bundleWorkflows(entry: string = workflowsPath, options: { traced?: boolean } = {}): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: entry,
    workflowInterceptorModules: options.traced === false ? [] : workflowInterceptorModules,
    preloadModules: sharedWorkflowModules,
    logger: new DefaultLogger('WARN'),
    webpackConfigHook: (config) => ({
      ...config,
      resolve: { ...config.resolve, extensionAlias: { '.js': ['.ts', '.js'] } },
    }),
  });
}
