import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ports.js';
import { ensureVenv, type PythonVenv } from './python-venv.js';

/**
 * Real object stores for the s3:// and gs:// read tests, from PyPI into a cached virtual environment (see
 * python-venv.ts): moto's server, an S3-compatible endpoint, and gcp-storage-emulator, which serves the GCS
 * JSON API the Node SDK speaks. Each test file starts its own on free loopback ports, in memory.
 */
export const OBJECT_STORE_REQUIREMENTS = ['moto[server]==5.2.5', 'gcp-storage-emulator==2026.7.19'] as const;

export function ensureObjectStoreServers(options: { say?: (m: string) => void; env?: NodeJS.ProcessEnv } = {}): Promise<PythonVenv> {
  return ensureVenv({ name: 'object-stores-1', requirements: OBJECT_STORE_REQUIREMENTS, purpose: 'the s3:// and gs:// read tests (moto, gcp-storage-emulator)', probe: 'moto_server' }, options);
}

export interface RunningStore {
  /** Its endpoint, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  /** What it has logged so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** Starts `command` in its own process group and resolves once `readyPath` answers 200. */
async function startServer(name: string, command: string, args: (port: number) => string[], readyPath: string, timeoutMs = 60_000): Promise<RunningStore> {
  const port = await freePort();
  const child = spawn(command, args(port), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-64 * 1024);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = once(child, 'exit');
  let running = true;
  void exited.then(() => {
    running = false;
  });
  const stop = async () => {
    if (running && child.pid) {
      process.kill(-child.pid, 'SIGTERM');
      const killed = setTimeout(() => running && child.pid && process.kill(-child.pid, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(killed);
    }
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!running) throw new Error(`${name} exited before it was ready:\n${output}`);
    const ready = await fetch(`${url}${readyPath}`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${name} was not ready within ${timeoutMs / 1000} s:\n${output}`);
    }
    await sleep(100);
  }
  return { url, log: () => output, stop };
}

/** moto's S3-compatible server (any access key is accepted; buckets live in memory). */
export async function startMoto(): Promise<RunningStore> {
  const { bin } = await ensureObjectStoreServers();
  return startServer('moto_server', join(bin, 'moto_server'), (port) => ['-H', '127.0.0.1', '-p', String(port)], '/moto-api/');
}

/** gcp-storage-emulator: the GCS JSON API, in memory, without authentication. */
export async function startGcsEmulator(): Promise<RunningStore> {
  const { bin } = await ensureObjectStoreServers();
  return startServer('gcp-storage-emulator', join(bin, 'gcp-storage-emulator'), (port) => ['start', '-H', '127.0.0.1', '--port', String(port), '--in-memory', '-q'], '/storage/v1/b');
}
