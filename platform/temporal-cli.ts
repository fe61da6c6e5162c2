import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, readdir } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import { isExecutable, onPath, toolCacheDir } from './tool-cache.js';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The CLI release Steward is tested against (Temporal server 1.29). Later tags cannot be `go install`ed. */
export const TEMPORAL_CLI_VERSION = '1.5.1';
const GO_PACKAGE = `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`;
const SDK_DOWNLOAD_HOST = 'temporal.download';

export type CliSource = 'TEMPORAL_CLI' | 'PATH' | 'cache' | 'sdk-download' | 'go-install';

export interface LocatedCli {
  readonly path: string;
  readonly source: CliSource;
}

export class TemporalCliNotFoundError extends Error {}

type Say = (message: string) => void;

/** Per-user cache, outside any clone, so a fresh clone on the same machine does not rebuild the CLI. */
export function cliCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return toolCacheDir('temporal-cli', TEMPORAL_CLI_VERSION, env);
}



/** The SDK's own download, only attempted when its host resolves (it never does on an offline machine). */
async function sdkDownload(cacheDir: string, say: Say): Promise<string | null> {
  try {
    await lookup(SDK_DOWNLOAD_HOST);
  } catch {
    return null;
  }
  say(`downloading Temporal CLI ${TEMPORAL_CLI_VERSION} through the Temporal SDK`);
  const downloadDir = join(cacheDir, 'sdk-download');
  try {
    const { TestWorkflowEnvironment } = await import('@temporalio/testing');
    const env = await TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'cached-download', downloadDir, version: `v${TEMPORAL_CLI_VERSION}` } },
    });
    await env.teardown();
    for (const entry of await readdir(downloadDir)) {
      const candidate = join(downloadDir, entry);
      if (entry.startsWith('temporal') && (await isExecutable(candidate))) {
        const target = join(cacheDir, 'temporal');
        await copyFile(candidate, target);
        await chmod(target, 0o755);
        return target;
      }
    }
  } catch (err) {
    say(`SDK download failed: ${(err as Error).message}`);
  }
  return null;
}

async function goInstall(cacheDir: string, env: NodeJS.ProcessEnv, say: Say): Promise<string | null> {
  const go = await onPath('go', env);
  if (!go) return null;
  say(`building Temporal CLI ${TEMPORAL_CLI_VERSION} with \`go install\` (a few minutes, once per machine)`);
  try {
    await run(go, ['install', GO_PACKAGE], {
      env: { ...env, GOBIN: cacheDir, CGO_ENABLED: env.CGO_ENABLED ?? '0' },
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    say(`go install failed:\n${e.stderr?.trim() || e.message}`);
    return null;
  }
  const built = join(cacheDir, 'temporal');
  return (await isExecutable(built)) ? built : null;
}

/**
 * Finds the `temporal` CLI, or installs it, in this order: $TEMPORAL_CLI; `temporal` on PATH; the per-user
 * cache; the SDK's download where the internet is reachable; `go install` into the cache.
 */
export async function ensureTemporalCli(
  options: { env?: NodeJS.ProcessEnv; say?: Say; allowDownload?: boolean } = {},
): Promise<LocatedCli> {
  const env = options.env ?? process.env;
  const say = options.say ?? ((m: string) => process.stderr.write(`[temporal-cli] ${m}\n`));

  if (env.TEMPORAL_CLI) {
    if (await isExecutable(env.TEMPORAL_CLI)) return { path: env.TEMPORAL_CLI, source: 'TEMPORAL_CLI' };
    throw new TemporalCliNotFoundError(`TEMPORAL_CLI=${env.TEMPORAL_CLI} is not an executable file`);
  }
  const fromPath = await onPath('temporal', env);
  if (fromPath) return { path: fromPath, source: 'PATH' };

  const cacheDir = cliCacheDir(env);
  const cached = join(cacheDir, 'temporal');
  if (await isExecutable(cached)) return { path: cached, source: 'cache' };

  await mkdir(cacheDir, { recursive: true });
  const downloaded = options.allowDownload === false ? null : await sdkDownload(cacheDir, say);
  if (downloaded) return { path: downloaded, source: 'sdk-download' };
  const built = await goInstall(cacheDir, env, say);
  if (built) return { path: built, source: 'go-install' };

  throw new TemporalCliNotFoundError(
    [
      'Steward needs the Temporal CLI and could not find or install it.',
      'Do one of these, then retry:',
      `  - install Go (https://go.dev/dl) so Steward can run: go install ${GO_PACKAGE}`,
      '  - install the Temporal CLI yourself and put `temporal` on PATH',
      '  - point TEMPORAL_CLI at an existing `temporal` binary',
    ].join('\n'),
  );
}
