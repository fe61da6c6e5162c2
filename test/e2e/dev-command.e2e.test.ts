import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../harness/ports.js';

/**
 * The README's first Quick start command, minus `npm install`: `npm run dev` brings up the whole stack on embedded
 * defaults (dev server on SQLite, PGlite catalog, worker, API) and prints where the API is.
 */
describe('steward dev', () => {
  it('starts the stack on embedded defaults, prints the API address, answers curl, and stops cleanly', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'steward-dev-'));
    const port = await freePort();
    const temporalPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      STEWARD_DATA_DIR: dataDir,
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    };
    delete env.DATABASE_URL;
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'dev'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const apiUrl = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no API address printed:\n${output}`)), 90_000);
        child.stdout.on('data', () => {
          const match = /API:\s+(http:\/\/\S+)/.exec(output);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
        void exited.then((code) => reject(new Error(`steward dev exited with ${code}:\n${output}`)));
      });
      expect(apiUrl).toBe(`http://127.0.0.1:${port}`);
      const health = await fetch(`${apiUrl}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok', catalog: 'ok', temporal: 'ok' });
      expect(output).toMatch(/dev-engineer\s+engineer\s+stw_/);
      expect(output).toContain(join(dataDir, 'temporal.db'));
      expect(output).toContain(`Temporal:     127.0.0.1:${temporalPort}`);
    } finally {
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
