import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * `steward …` as a user runs it (tsx, from the repository root): exit code and both streams, never a throw. An
 * undefined override removes the variable (an empty DATABASE_URL is a configuration error, not "unset").
 */
export function steward(overrides: Record<string, string | undefined>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries({ ...process.env, ...overrides }).filter(([, v]) => v !== undefined));
  return run(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { env }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}
