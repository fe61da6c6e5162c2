import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';

/** `npm run runtime` as a process: configured by the environment, and SIGTERM / SIGINT close it cleanly. */
describe('built-in runtime process', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('starts on the configured port over <STEWARD_DATA_DIR>/models and exits 0 on %s', async (signal) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'steward-runtime-main-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'runtimes/builtin/main.ts'], {
      env: { ...process.env, STEWARD_DATA_DIR: dataDir, STEWARD_RUNTIME_PORT: '0', STEWARD_RUNTIME_REPOSITORY: '', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const exited = once(child, 'exit');
      let listening: { url: string; repository: string } | undefined;
      for await (const line of createInterface({ input: child.stdout })) {
        const entry = JSON.parse(line) as { msg: string; url?: string; repository?: string };
        if (entry.msg === 'built-in runtime listening') {
          listening = { url: entry.url as string, repository: entry.repository as string };
          break;
        }
      }
      expect(listening?.repository).toBe(join(dataDir, 'models'));
      const live = await fetch(`${listening?.url}/v2/health/live`);
      expect(live.status).toBe(200);
      child.kill(signal);
      const [code] = await exited;
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a port that is not a number, naming the variable', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'runtimes/builtin/main.ts'], {
      env: { ...process.env, STEWARD_RUNTIME_PORT: 'eighty' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = await once(child, 'exit');
    expect(code).toBe(2);
    expect(output).toContain('STEWARD_RUNTIME_PORT must be a port number (0-65535), got \\"eighty\\"');
  });
});
