import { TestWorkflowEnvironment } from '@temporalio/testing';
import { STEWARD_SEARCH_ATTRIBUTES } from '../core/search-attributes.js';
import { ensureTemporalCli } from './temporal-cli.js';

export interface DevServerOptions {
  /** SQLite file that keeps histories across restarts; in memory when absent. */
  readonly dbFilename?: string;
  readonly port?: number;
  readonly ui?: boolean;
  readonly extraArgs?: readonly string[];
}

export interface DevServer {
  readonly address: string;
  readonly uiAddress: string | null;
  readonly env: TestWorkflowEnvironment;
  stop(): Promise<void>;
}

/**
 * A real Temporal dev server (`temporal server start-dev`) from the located CLI, with Steward's search
 * attributes registered. Used by `steward dev` and by the test harness.
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const cli = await ensureTemporalCli();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli.path },
      searchAttributes: [...STEWARD_SEARCH_ATTRIBUTES],
      ...(options.dbFilename ? { dbFilename: options.dbFilename } : {}),
      ...(options.port ? { port: options.port } : {}),
      ...(options.ui ? { ui: true } : {}),
      extraArgs: ['--log-level', 'error', ...(options.dbFilename ? ['--sqlite-pragma', 'journal_mode=WAL'] : []), ...(options.extraArgs ?? [])],
    },
  });
  const address = env.address;
  const port = Number(address.split(':').pop());
  return {
    address,
    uiAddress: options.ui ? `http://localhost:${port + 1000}` : null,
    env,
    stop: () => env.teardown(),
  };
}
