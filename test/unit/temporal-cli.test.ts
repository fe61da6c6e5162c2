import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliCacheDir, ensureTemporalCli, TemporalCliNotFoundError, TEMPORAL_CLI_VERSION } from '../../platform/temporal-cli.js';

/** The locator's search order, exercised with stand-in executables in temp directories. */
async function executable(dir: string, name = 'temporal'): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await writeFile(path, '#!/bin/sh\nexit 0\n');
  await chmod(path, 0o755);
  return path;
}

describe('locating the Temporal CLI', () => {
  const quiet = () => {};

  it('prefers TEMPORAL_CLI, then PATH, then the per-user cache keyed by version', async () => {
    const root = await mkdtemp(join(tmpdir(), 'steward-cli-'));
    const explicit = await executable(join(root, 'explicit'));
    const onPath = await executable(join(root, 'bin'));
    const cacheHome = join(root, 'cache');
    const cached = await executable(cliCacheDir({ XDG_CACHE_HOME: cacheHome }));
    expect(cached).toBe(join(cacheHome, 'steward', 'temporal-cli', TEMPORAL_CLI_VERSION, 'temporal'));

    const base = { XDG_CACHE_HOME: cacheHome };
    expect(await ensureTemporalCli({ say: quiet, env: { ...base, TEMPORAL_CLI: explicit, PATH: join(root, 'bin') } })).toEqual({ path: explicit, source: 'TEMPORAL_CLI' });
    expect(await ensureTemporalCli({ say: quiet, env: { ...base, PATH: join(root, 'bin') } })).toEqual({ path: onPath, source: 'PATH' });
    expect(await ensureTemporalCli({ say: quiet, env: { ...base, PATH: join(root, 'empty') } })).toEqual({ path: cached, source: 'cache' });
  });

  it('refuses a TEMPORAL_CLI that is not an executable file, naming it', async () => {
    await expect(ensureTemporalCli({ say: quiet, env: { TEMPORAL_CLI: '/nonexistent/temporal' } })).rejects.toThrow(
      'TEMPORAL_CLI=/nonexistent/temporal is not an executable file',
    );
  });

  it('says what to install when there is no CLI, no download and no Go', async () => {
    const root = await mkdtemp(join(tmpdir(), 'steward-cli-'));
    const attempt = ensureTemporalCli({ say: quiet, allowDownload: false, env: { XDG_CACHE_HOME: join(root, 'cache'), PATH: join(root, 'empty') } });
    await expect(attempt).rejects.toBeInstanceOf(TemporalCliNotFoundError);
    await expect(attempt).rejects.toThrow(/install Go .* go install github\.com\/temporalio\/cli\/cmd\/temporal@v1\.5\.1/s);
  });
});
