import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createArtifactStager } from '../../activities/runtime-staging.js';
import { startBuiltinRuntime } from '../../runtimes/builtin/server.js';
import { createRuntimes, parseRuntimeTargets, type Runtimes } from '../../runtimes/targets.js';
import { testReadSettings } from './reading.js';

/** A real built-in runtime (the V2 server) on a free port, and the `STEWARD_RUNTIMES` naming it `default`. */
export interface TestRuntime {
  readonly url: string;
  readonly repository: string;
  /** The `STEWARD_RUNTIMES` value for processes that should deploy to this runtime. */
  readonly env: string;
  /** Clients for the targets, staging artifacts with the test read settings. */
  readonly runtimes: Runtimes;
  close(): Promise<void>;
}

export async function startTestRuntime(): Promise<TestRuntime> {
  const repository = await mkdtemp(join(tmpdir(), 'steward-models-'));
  const server = await startBuiltinRuntime({ repository, host: '127.0.0.1', port: 0 });
  const env = JSON.stringify({ default: { kind: 'builtin', url: server.url, repository } });
  const runtimes = createRuntimes(parseRuntimeTargets({ STEWARD_RUNTIMES: env }), { stage: createArtifactStager(testReadSettings()) });
  return {
    url: server.url,
    repository,
    env,
    runtimes,
    async close() {
      await runtimes.close();
      await server.close();
    },
  };
}

let shared: Promise<TestRuntime> | null = null;

/**
 * The built-in runtime every lifecycle in this test file deploys to (target `default`), started on first use
 * and left to end with the test process.
 */
export function sharedTestRuntime(): Promise<TestRuntime> {
  shared ??= startTestRuntime();
  return shared;
}
