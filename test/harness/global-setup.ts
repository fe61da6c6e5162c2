import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../../platform/temporal-dev-server.js';
import { bundleWorkflows } from '../../workers/bundle.js';
import { startPostgresCluster, type PostgresCluster } from './postgres-cluster.js';
import './provided-context.js';

/**
 * Once per test run: a real Temporal dev server, real PostgreSQL (DATABASE_URL, or a throwaway cluster),
 * and one workflow bundle shared by every test worker. All torn down when the run ends.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const external = process.env.DATABASE_URL;
  const [temporal, postgres, bundle] = await Promise.all([
    startDevServer(),
    external ? Promise.resolve<PostgresCluster>({ url: external, stop: async () => {} }) : startPostgresCluster(),
    bundleWorkflows(),
  ]);
  const bundleDir = await mkdtemp(join(tmpdir(), 'steward-bundle-'));
  const bundlePath = join(bundleDir, 'workflows.js');
  await writeFile(bundlePath, bundle.code);

  project.provide('temporalAddress', temporal.address);
  project.provide('databaseUrl', postgres.url);
  project.provide('workflowBundlePath', bundlePath);
  process.stderr.write(
    `[harness] Temporal ${temporal.address}, PostgreSQL ${external ? '(DATABASE_URL)' : postgres.url}, ready in ${Date.now() - started} ms\n`,
  );

  return async () => {
    await Promise.allSettled([temporal.stop(), postgres.stop(), rm(bundleDir, { recursive: true, force: true })]);
  };
}
