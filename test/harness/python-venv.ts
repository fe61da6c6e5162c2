import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isExecutable, onPath } from '../../platform/tool-cache.js';

const run = promisify(execFile);
const MARKER = '.steward-installed';

export class PythonVenvError extends Error {}

export interface PythonVenv {
  readonly venv: string;
  readonly python: string;
  /** `bin/` of the environment, for its console scripts (e.g. `mlserver`). */
  readonly bin: string;
  readonly source: 'cache' | 'pip';
}

export interface VenvSpec {
  /** Directory name under the per-user cache, e.g. `mlserver-1.7.1`. */
  readonly name: string;
  /** Pinned pip requirements; the marker file records them, so a changed list reinstalls. */
  readonly requirements: readonly string[];
  /** What the environment is for, in error messages. */
  readonly purpose: string;
  /** A console script that must exist once installed (defaults to python). */
  readonly probe?: string;
}

export function venvDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'steward', name);
}

const installing = new Map<string, Promise<PythonVenv>>();

/**
 * A Python virtual environment in the per-user cache (like the Temporal CLI and the Java test server), created
 * with `python3 -m venv` and filled by pip the first time; a marker naming the requirements says it is complete,
 * so later runs skip pip. Concurrent callers in one process share the install.
 */
export function ensureVenv(spec: VenvSpec, options: { say?: (m: string) => void; env?: NodeJS.ProcessEnv } = {}): Promise<PythonVenv> {
  let pending = installing.get(spec.name);
  if (!pending) {
    pending = install(spec, options).catch((err: unknown) => {
      installing.delete(spec.name);
      throw err;
    });
    installing.set(spec.name, pending);
  }
  return pending;
}

async function install(spec: VenvSpec, { say = () => undefined, env = process.env }: { say?: (m: string) => void; env?: NodeJS.ProcessEnv }): Promise<PythonVenv> {
  const venv = venvDir(spec.name, env);
  const bin = join(venv, 'bin');
  const found = { venv, bin, python: join(bin, 'python') };
  const wanted = spec.requirements.join(' ');
  const marker = await readFile(join(venv, MARKER), 'utf8').catch(() => '');
  if (marker.trim() === wanted && (await isExecutable(join(bin, spec.probe ?? 'python')))) return { ...found, source: 'cache' };

  const python3 = await onPath('python3', env);
  if (!python3) {
    throw new PythonVenvError(
      `python3 not found on PATH: ${spec.purpose} need Python 3 (with venv and pip; Debian: sudo apt-get install -y python3 python3-venv) to install ${wanted} into ${venv}`,
    );
  }
  say(`${spec.name}: creating ${venv} and installing ${wanted} with pip (once per machine)`);
  try {
    await run(python3, ['-m', 'venv', venv], { env });
    await run(found.python, ['-m', 'pip', 'install', '--quiet', ...spec.requirements], { env, maxBuffer: 64 * 1024 ** 2 });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new PythonVenvError(`installing ${wanted} into ${venv} failed: ${e.message}\n${(e.stderr ?? '').slice(-2000)}`);
  }
  await writeFile(join(venv, MARKER), `${wanted}\n`);
  return { ...found, source: 'pip' };
}
