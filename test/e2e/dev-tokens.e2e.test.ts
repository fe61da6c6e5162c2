import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../harness/ports.js';
import { steward } from '../harness/cli.js';
import { startDev } from '../harness/dev.js';

const status = async (api: string, token: string) => (await fetch(`${api}/models?limit=1`, { headers: { authorization: `Bearer ${token}` } })).status;

/**
 * The reported scenario: with `npm run dev` holding the embedded catalog, `steward token create` and `revoke`
 * go through its API with the dev-admin token it prints; a revoked token stays revoked across a restart, and a
 * restart revokes the previous dev tokens.
 */
describe('tokens with steward dev', () => {
  it('creates and revokes through the running API, effective at once and after a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'steward-dev-tokens-'));
    const [port, temporalPort] = [await freePort(), await freePort()];
    let dev = await startDev(dataDir, { port, temporalPort });
    try {
      expect(Object.keys(dev.tokens).sort()).toEqual(['dev-admin', 'dev-approver', 'dev-auditor', 'dev-business', 'dev-engineer']);
      const env = { STEWARD_API: dev.api, STEWARD_TOKEN: dev.tokens['dev-admin'], DATABASE_URL: undefined, STEWARD_DATA_DIR: dataDir };
      const [kept, revoked] = await Promise.all(['kim', 'rex'].map((p) => steward(env, 'token', 'create', '--principal', p, '--role', 'engineer')));
      expect(kept!.code).toBe(0);
      expect(revoked!.code).toBe(0);
      const keptToken = kept!.stdout.trim();
      const revokedToken = revoked!.stdout.trim();
      expect(await status(dev.api, keptToken)).toBe(200);
      expect(await status(dev.api, revokedToken)).toBe(200);
      expect(await steward(env, 'token', 'revoke', '--principal', 'rex')).toMatchObject({ code: 0, stdout: 'revoked 1 token(s) of rex\n' });
      expect(await status(dev.api, revokedToken)).toBe(401);

      const before = dev.tokens;
      expect(await dev.stop()).toBe(0);
      dev = await startDev(dataDir, { port, temporalPort });
      expect(await status(dev.api, revokedToken)).toBe(401);
      expect(await status(dev.api, keptToken)).toBe(200);
      for (const principal of Object.keys(before)) {
        expect(await status(dev.api, before[principal]!), `${principal}'s previous token`).toBe(401);
        expect(await status(dev.api, dev.tokens[principal]!), `${principal}'s new token`).toBe(200);
      }
    } finally {
      expect(await dev.stop()).toBe(0);
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 400_000);
});
