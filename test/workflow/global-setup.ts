import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { bundleWorkflows } from '../../workers/bundle.js';
import { ensureJavaTestServer } from '../harness/java-test-server.js';
import './support/provided-context.js';

/**
 * Once per run of the workflow project: the time-skipping test server (installed from Maven Central on the
 * first run of a machine) and the workflow bundle, so each test file only starts its own server and workers.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const [server, bundle] = await Promise.all([ensureJavaTestServer(), bundleWorkflows(join(import.meta.dirname, 'fixtures', 'lifecycle.ts'))]);
  const dir = await mkdtemp(join(tmpdir(), 'steward-workflow-tests-'));
  const workflowBundlePath = join(dir, 'workflows.js');
  await writeFile(workflowBundlePath, bundle.code);
  project.provide('testServerPath', server.path);
  project.provide('lifecycleBundlePath', workflowBundlePath);
  process.stderr.write(`[workflow tests] test server ${server.path} (${server.source}), bundle ready in ${Date.now() - started} ms\n`);
  return () => rm(dir, { recursive: true, force: true });
}
