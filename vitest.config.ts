import { defineConfig } from 'vitest/config';

/**
 * Projects: `unit` (no servers), `workflow` (the lifecycle on a time-skipping test server with activity
 * doubles) and `integration` (real Temporal dev server and real PostgreSQL, started once by the global
 * setup) make up `npm test`; `record` re-records history fixtures and runs only on demand
 * (`npm run record:histories`). Forks, not threads: Temporal's native bridge crashes
 * under worker threads.
 */
export default defineConfig({
  test: {
    pool: 'forks',
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          pool: 'forks',
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          pool: 'forks',
          globalSetup: ['test/harness/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          // The lifecycle workflow on Temporal's time-skipping test server, its activities replaced by doubles:
          // every branch of every stage, days and years of timers in milliseconds.
          name: 'workflow',
          include: ['test/workflow/**/*.test.ts'],
          pool: 'forks',
          globalSetup: ['test/workflow/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          // The API fuzz suite (`npm run test:fuzz`): API and worker as child processes, same servers as integration.
          name: 'fuzz',
          include: ['test/fuzz/**/*.fuzz.test.ts'],
          pool: 'forks',
          globalSetup: ['test/harness/global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 240_000,
        },
      },
      {
        test: {
          name: 'record',
          include: ['test/record/**/*.record.ts'],
          pool: 'forks',
          globalSetup: ['test/harness/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
