import { describe, expect, it } from 'vitest';
import { pickRoute, routeForVersion, seededRandom } from '../../api/gateway/router.js';
import { groupRoutes, routingTableOver, type DeploymentRowLike } from '../../api/gateway/routing-table.js';

const row = (id: string, version: string, strategy: string, share: number, from = '2026-11-01T00:00:00Z', target = 'default', model = 'credit-scorer'): DeploymentRowLike => ({
  id,
  model_name: model,
  model_version_id: `${model}@${version}`,
  target,
  strategy,
  traffic_share: share,
  from_time: from,
});

describe('the gateway routing table', () => {
  it('groups live rows by model: champion, canaries with a share, shadows', () => {
    const routes = groupRoutes([row('d1', '1.0.0', 'replace', 1), row('d2', '1.1.0', 'canary', 0.25), row('d3', '1.2.0', 'shadow', 0), row('x', '2.0.0', 'replace', 1, undefined, 'default', 'other')]);
    const credit = routes.get('credit-scorer')!;
    expect(credit.champion).toMatchObject({ deploymentId: 'd1', version: '1.0.0', runtimeName: 'credit-scorer-v1.0.0', share: 1, strategy: 'replace' });
    expect(credit.canaries.map((c) => [c.deploymentId, c.share])).toEqual([['d2', 0.25]]);
    expect(credit.shadows.map((s) => s.deploymentId)).toEqual(['d3']);
    expect(routes.get('other')!.champion?.modelVersionId).toBe('other@2.0.0');
  });

  it('serves the newest champion when a model is live on several targets, with that target\'s canaries', () => {
    const routes = groupRoutes([
      row('old', '1.0.0', 'replace', 1, '2026-10-01T00:00:00Z', 'eu'),
      row('new', '1.1.0', 'replace', 1, '2026-11-01T00:00:00Z', 'us'),
      row('eu-canary', '1.2.0', 'canary', 0.1, '2026-11-02T00:00:00Z', 'eu'),
    ]).get('credit-scorer')!;
    expect(routes.champion?.deploymentId).toBe('new');
    expect(routes.canaries).toEqual([]);
  });
});

describe('routing a request', () => {
  const routes = groupRoutes([row('champ', '1.0.0', 'replace', 1), row('canary', '1.1.0', 'canary', 0.2), row('shadow', '1.2.0', 'shadow', 0)]).get('credit-scorer')!;

  it('sends about the canary share to the canary (seeded, within 4 standard deviations)', () => {
    for (const share of [0.05, 0.2, 0.5]) {
      const split = { ...routes, canaries: [{ ...routes.canaries[0]!, share }] };
      const random = seededRandom(42);
      const n = 20_000;
      let toCanary = 0;
      for (let i = 0; i < n; i++) if (pickRoute(split, random)!.deploymentId === 'canary') toCanary += 1;
      const sd = Math.sqrt(n * share * (1 - share));
      expect(Math.abs(toCanary - n * share)).toBeLessThan(4 * sd);
    }
  });

  it('never answers from a shadow, and without canaries always from the champion', () => {
    const random = seededRandom(7);
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) seen.add(pickRoute(routes, random)!.deploymentId);
    expect([...seen].sort()).toEqual(['canary', 'champ']);
    const championOnly = { ...routes, canaries: [] };
    for (let i = 0; i < 100; i++) expect(pickRoute(championOnly, random)!.deploymentId).toBe('champ');
  });

  it('a share of 1 sends everything to the canary; a canary without a champion takes everything', () => {
    const all = { ...routes, canaries: [{ ...routes.canaries[0]!, share: 1 }] };
    const random = seededRandom(1);
    for (let i = 0; i < 100; i++) expect(pickRoute(all, random)!.deploymentId).toBe('canary');
    expect(pickRoute({ ...routes, champion: null }, random)!.deploymentId).toBe('canary');
    expect(pickRoute({ champion: null, canaries: [], shadows: routes.shadows }, random)).toBeNull();
  });

  it('finds a named version among the live deployments', () => {
    expect(routeForVersion(routes, '1.2.0')?.deploymentId).toBe('shadow');
    expect(routeForVersion(routes, '9.9.9')).toBeNull();
  });
});

describe('the routing table cache', () => {
  const setup = () => {
    let clock = 0;
    let loads = 0;
    let rows: DeploymentRowLike[] = [row('champ', '1.0.0', 'replace', 1), row('canary', '1.1.0', 'canary', 0.2)];
    let failing = false;
    const errors: unknown[] = [];
    const table = routingTableOver(
      async () => {
        loads += 1;
        if (failing) throw new Error('catalog down');
        return rows;
      },
      { ttlMs: 1000, now: () => clock, onError: (e) => errors.push(e) },
    );
    return {
      table,
      errors,
      get loads() { return loads; },
      advance: (ms: number) => (clock += ms),
      setRows: (r: DeploymentRowLike[]) => (rows = r),
      fail: (f: boolean) => (failing = f),
    };
  };

  it('reads the catalog once for many requests, in one flight, and again after the TTL', async () => {
    const t = setup();
    await Promise.all(Array.from({ length: 50 }, () => t.table.routes('credit-scorer')));
    expect(t.loads).toBe(1);
    t.advance(999);
    await t.table.routes('credit-scorer');
    expect(t.loads).toBe(1);
    t.advance(2);
    await t.table.routes('credit-scorer');
    expect(t.loads).toBe(2);
  });

  it('stops routing to an ended canary within one TTL: stale answers only until the refresh lands', async () => {
    const t = setup();
    expect((await t.table.routes('credit-scorer'))!.canaries).toHaveLength(1);
    t.setRows([row('champ', '1.0.0', 'replace', 1)]);
    t.advance(1001);
    // This request triggers the refresh and is answered from the table it had; the next sees the change.
    await t.table.routes('credit-scorer');
    expect((await t.table.routes('credit-scorer'))!.canaries).toHaveLength(0);
    // Past twice the TTL a request waits for the refresh itself.
    t.setRows([]);
    t.advance(2001);
    expect(await t.table.routes('credit-scorer')).toBeNull();
  });

  it('keeps serving the last table while the catalog cannot be read, and fails only without one', async () => {
    const t = setup();
    await t.table.routes('credit-scorer');
    t.fail(true);
    t.advance(5000);
    expect((await t.table.routes('credit-scorer'))!.champion?.deploymentId).toBe('champ');
    expect(t.errors).toHaveLength(1);
    const fresh = setup();
    fresh.fail(true);
    await expect(fresh.table.routes('credit-scorer')).rejects.toThrow('catalog down');
  });
});
