import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Client } from '@temporalio/client';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { createApiToken } from '../../api/tokens.js';
import { connectTestClient, createTestDatabase, eventually, terminateRunning, uniqueTaskQueue, type TestDatabase } from '../harness/index.js';
import { sampleManifest } from '../harness/manifests.js';
import { freePort } from '../harness/ports.js';
import { routesOf, type Route } from './openapi.js';
import { describeRequest, requestArbitrary, ROLES, wellFormedRequests, type FuzzContext, type FuzzRequest, type RoleName } from './requests.js';
import { answersHealth, send, sendPatiently, startProcess, takeLedger, unexplained, type Answer, type Ledger, type StewardProcess } from './stack.js';
import { sharedTestRuntime } from '../harness/runtimes.js';

/**
 * The API under attack, as it runs in production: `api/main.ts` and `workers/main.ts` as child processes on the
 * run's real Temporal dev server and PostgreSQL, configured by environment. At least 10,000 generated requests
 * over every route of the API's own OpenAPI document, as every role, without a token and with bad ones, carrying
 * deep nesting, megabyte bodies, unicode edge cases, SQL metacharacters, made-up cursors and dates, hostile URIs,
 * wrong content types and path segments that try to climb out. No answer may be a 5xx or missing, the API
 * process must answer /health after every batch, and nothing a refused request sent may stay behind.
 *
 * FUZZ_SEED (default fixed) and FUZZ_REQUESTS (default 10,000) reproduce or extend a run.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261101);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 10_000);
const BATCH = 500;
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? 48);
const LIMITED_PER_MINUTE = 30;

interface Failure {
  readonly kind: string;
  readonly request: FuzzRequest;
  readonly detail: string;
  logLines?: string[];
}

describe('fuzzing the API process', () => {
  let database: TestDatabase;
  let client: Client;
  let taskQueue: string;
  let api: StewardProcess;
  let limited: StewardProcess;
  let worker: StewardProcess;
  let apiPort: number;
  let limitedPort: number;
  let routes: Route[];
  let ctx: FuzzContext;
  const tokens = {} as Record<RoleName, string>;
  const processes: StewardProcess[] = [];

  const authorization = (r: FuzzRequest) => (r.caller.kind === 'role' ? `Bearer ${tokens[r.caller.role]}` : r.caller.kind === 'bad' ? r.caller.header : undefined);

  beforeAll(async () => {
    database = await createTestDatabase();
    client = await connectTestClient();
    taskQueue = uniqueTaskQueue('fuzz');
    [apiPort, limitedPort] = [await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: taskQueue,
      DATABASE_URL: database.url,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      STEWARD_EVIDENCE_DIR: database.evidence.dir,
      // Deployments load into a real built-in runtime this test process runs.
      STEWARD_RUNTIMES: (await sharedTestRuntime()).env,
      // Artifacts of the well-formed manifests live in the temp dir (test/harness/artifacts.ts).
      STEWARD_READ_ROOTS: realpathSync(tmpdir()),
    };
    worker = startProcess('worker', 'workers/main.ts', env);
    api = startProcess('api', 'api/main.ts', { ...env, PORT: String(apiPort), STEWARD_RATE_LIMIT_PER_MINUTE: '100000000' });
    limited = startProcess('limited api', 'api/main.ts', { ...env, PORT: String(limitedPort), STEWARD_RATE_LIMIT_PER_MINUTE: String(LIMITED_PER_MINUTE) });
    processes.push(worker, api, limited);
    for (const role of ROLES) tokens[role] = await createApiToken(database.db, `fz-${role.replace(':', '-')}`, [role], ['fuzzers']);
    for (const [port, proc] of [[apiPort, api], [limitedPort, limited]] as const) {
      await eventually(`the ${proc.name} process to answer`, async () => ((await answersHealth(port)) ? true : undefined), { timeoutMs: 90_000, intervalMs: 250 }).catch((err) => {
        throw new Error(`${err}\n${proc.lines.slice(-40).join('\n')}`);
      });
    }

    // Two lifecycles waiting at their approval gates, for path parameters that name something real.
    const existingIds: string[] = [];
    for (const name of ['fz-seed-a', 'fz-seed-b']) {
      const manifest = await sampleManifest({ name });
      const res = await send(apiPort, { route: 'POST /models', method: 'POST', path: '/models', caller: { kind: 'role', role: 'engineer' }, headers: { 'content-type': 'application/json' }, body: { kind: 'json', value: manifest } }, `Bearer ${tokens.engineer}`);
      expect(res.status, res.body).toBe(201);
      existingIds.push((JSON.parse(res.body) as { modelVersionId: string }).modelVersionId);
    }
    await eventually(
      'the seeded lifecycles at their approval gates',
      async () => {
        const rows = await database.db.selectFrom('model_versions').select('stage').where('id', 'in', existingIds).execute();
        return rows.length === existingIds.length && rows.every((r) => r.stage === 'approval') ? rows : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    ).catch((err) => {
      throw new Error(`${err}\n${worker.lines.slice(-40).join('\n')}`);
    });

    const validManifest = (await sampleManifest({ name: 'fz-valid' })) as unknown as Record<string, unknown>;
    ctx = { apiPort, existingIds, validManifest, validManifestYaml: stringify({ ...validManifest, name: '{{name}}' }) };
    const doc = (await (await fetch(`http://127.0.0.1:${apiPort}/openapi.json`)).json()) as Record<string, unknown>;
    routes = routesOf(doc);
  }, 240_000);

  afterAll(async () => {
    if (client) await terminateRunning(client, taskQueue).catch(() => undefined);
    await Promise.all(processes.map((p) => p.stop()));
    await client?.connection.close();
    await database?.drop();
  });

  it('covers every route of the OpenAPI document', () => {
    // The document itself decides; these are only the routes it must at least contain.
    const names = routes.map((r) => `${r.method} ${r.path}`);
    for (const r of ['POST /models', 'GET /models', 'GET /models/{ref}', 'POST /models/{id}/approvals', 'GET /production', 'POST /webhooks', 'GET /audit/models/{id}/export']) {
      expect(names).toContain(r);
    }
    const generated = new Set(fc.sample(requestArbitrary(routes, ctx), { seed: SEED, numRuns: 3000 }).map((r) => r.route));
    expect([...names].filter((n) => !generated.has(n)), 'routes the generator never reached').toEqual([]);
  });

  it(`answers ${REQUESTS} generated requests with no 5xx, stays alive, and keeps nothing a refused request sent`, async () => {
    const started = Date.now();
    const before: Ledger = await takeLedger(database.db, client, taskQueue);
    const failures: Failure[] = [];
    const statuses = new Map<number, number>();
    const timings = new Map<string, number>();
    const touched = { ids: new Set(ctx.existingIds), names: new Set<string>(), unkeyedWrites: new Map<string, number>() };
    const bump = (table: string) => touched.unkeyedWrites.set(table, (touched.unkeyedWrites.get(table) ?? 0) + 1);
    let sent = 0;
    const runTag = Date.now().toString(36);
    const arbitrary = requestArbitrary(routes, ctx);

    const noteAccepted = (r: FuzzRequest, res: Answer) => {
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(res.body) as Record<string, unknown>;
      } catch {
        // Not JSON: nothing to note.
      }
      if (typeof parsed.modelVersionId === 'string') {
        touched.ids.add(parsed.modelVersionId);
        touched.names.add(parsed.modelVersionId.split('@')[0]!);
      }
      for (const segment of r.path.split('?')[0]!.split('/')) {
        try {
          touched.ids.add(decodeURIComponent(segment));
        } catch {
          // Undecodable segments name nothing that exists.
        }
      }
      if (r.method === 'POST' && r.path.startsWith('/webhooks')) bump('webhook_subscriptions');
      if (r.method === 'POST' && r.path.startsWith('/tokens')) bump('api_tokens');
    };

    for (let batch = 0; sent < REQUESTS; batch++) {
      const queue = [...fc.sample(arbitrary, { seed: SEED + batch, numRuns: Math.min(BATCH, REQUESTS - sent) }), ...wellFormedRequests(ctx, runTag, batch)];
      const inFlight = new Set<FuzzRequest>();
      // A fuzzed admin request may revoke a role's token mid-batch (an accepted DELETE /tokens, in any order
      // with the answers): a well-formed request refused with 401 then is explained, and judged at batch end.
      const refusedWellFormed: typeof failures = [];
      let tokensRevoked = false;
      const state: { crashed: FuzzRequest[] | null } = { crashed: null };
      const next = async (): Promise<void> => {
        for (let r = queue.shift(); r && !state.crashed; r = queue.shift()) {
          inFlight.add(r);
          let res: Answer | undefined;
          const t0 = Date.now();
          try {
            res = await sendPatiently(apiPort, r, authorization(r));
            timings.set(r.route, (timings.get(r.route) ?? 0) + Date.now() - t0);
          } catch (err) {
            if (api.exited) state.crashed ??= [...inFlight];
            else failures.push({ kind: `no answer (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, request: r, detail: String(err) });
          } finally {
            inFlight.delete(r);
          }
          sent++;
          if (!res) continue;
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status >= 500) failures.push({ kind: `${res.status} on ${r.route}`, request: r, detail: res.body.slice(0, 500) });
          else if (r.wellFormed && res.status >= 300) refusedWellFormed.push({ kind: `well-formed request refused (${res.status}) on ${r.route}`, request: r, detail: res.body.slice(0, 500) });
          if (res.status >= 200 && res.status < 300 && r.method === 'DELETE' && r.path.startsWith('/tokens')) tokensRevoked = true;
          if (res.status >= 200 && res.status < 300) noteAccepted(r, res);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, next));
      failures.push(...refusedWellFormed.filter((f) => !(tokensRevoked && f.kind.startsWith('well-formed request refused (401)'))));

      // Alive after every batch: the process has not exited and answers /health.
      if (state.crashed || api.exited || !(await answersHealth(apiPort))) {
        const how = api.exited ? `exited (code ${api.exited.code}, signal ${api.exited.signal})` : 'stopped answering /health';
        for (const r of state.crashed ?? [...inFlight]) failures.push({ kind: `API process ${how}`, request: r, detail: 'in flight when the process went down', logLines: api.lines.slice(-15) });
        if (!state.crashed?.length) failures.push({ kind: `API process ${how}`, request: queue[0] ?? { route: '?', method: '?', path: '?', caller: { kind: 'none' }, headers: {} }, detail: `after batch ${batch}`, logLines: api.lines.slice(-15) });
        // Start it again so one crash does not hide every other finding.
        await api.stop();
        api.restart();
        await eventually('the API process to answer again', async () => ((await answersHealth(apiPort)) ? true : undefined), { timeoutMs: 90_000, intervalMs: 250 });
      }
      // A fuzzed admin request may have revoked a role's token (an accepted DELETE /tokens): mint another.
      for (const role of ROLES) {
        const check = await send(apiPort, { route: 'GET /templates', method: 'GET', path: '/templates', caller: { kind: 'role', role }, headers: {} }, `Bearer ${tokens[role]}`);
        if (check.status === 401) {
          tokens[role] = await createApiToken(database.db, `fz-${role.replace(':', '-')}`, [role], ['fuzzers']);
          bump('api_tokens');
        }
      }
    }
    const fuzzMs = Date.now() - started;

    // The server's own words for each distinct 5xx: the request again, alone, with the log lines it caused.
    const seen = new Set<string>();
    for (const f of failures.filter((x) => x.kind.startsWith('5') && !x.logLines)) {
      if (seen.has(f.kind) || seen.size >= 15) continue;
      seen.add(f.kind);
      const from = api.lines.length;
      await send(apiPort, f.request, authorization(f.request)).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
      f.logLines = api.lines.slice(from).filter((l) => /"level":(50|60)|error/i.test(l)).slice(0, 5);
    }

    // Nothing left behind: let accepted lifecycles settle, then compare with the ledger from before.
    let after = await takeLedger(database.db, client, taskQueue);
    await eventually(
      'the catalog and Temporal to settle',
      async () => {
        const again = await takeLedger(database.db, client, taskQueue);
        const same = JSON.stringify([...again.counts]) === JSON.stringify([...after.counts]) && again.workflows.size === after.workflows.size;
        after = again;
        return same ? again : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1500 },
    ).catch(() => undefined);
    const leftBehind = unexplained(before, after, touched);

    const histogram = [...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}: ${n}`).join(', ');
    process.stdout.write(`[fuzz] seed ${SEED}: ${sent} requests in ${(fuzzMs / 1000).toFixed(1)} s (${Math.round(sent / (fuzzMs / 1000))}/s); ${histogram}\n`);
    if (process.env.FUZZ_TIMINGS) process.stdout.write(`[fuzz] time per route (s): ${[...timings].sort(([, a], [, b]) => b - a).map(([r, ms]) => `${r} ${(ms / 1000).toFixed(1)}`).join('; ')}\n`);

    const kinds = new Map<string, Failure[]>();
    for (const f of failures) kinds.set(f.kind, [...(kinds.get(f.kind) ?? []), f]);
    const report = [...kinds].map(
      ([kind, list]) =>
        `- ${kind} (${list.length}×), e.g. ${describeRequest(list[0]!.request)}\n    answer: ${list[0]!.detail.slice(0, 300)}${list[0]!.logLines?.length ? `\n    server log: ${list[0]!.logLines.join('\n      ').slice(0, 1500)}` : ''}`,
    );
    const message = `fuzz seed ${SEED} (rerun with FUZZ_SEED=${SEED}); ${sent} requests; ${histogram}\n${report.join('\n')}\n${leftBehind.map((p) => `- left behind: ${p}`).join('\n')}`;
    if (failures.length || leftBehind.length) process.stdout.write(`[fuzz] ${message}\n`);
    expect(sent).toBeGreaterThanOrEqual(REQUESTS);
    expect(failures.length + leftBehind.length, message).toBe(0);
    // The run reached past authentication and validation, not only into refusals.
    expect([...statuses].filter(([s]) => s < 300).reduce((a, [, n]) => a + n, 0)).toBeGreaterThan(100);
  }, 600_000);

  it(`answers 429, never a 5xx, past ${LIMITED_PER_MINUTE} requests a minute of hostile searches`, async () => {
    const search = routes.filter((r) => r.method === 'GET' && r.path === '/models');
    const requests = fc.sample(requestArbitrary(search, ctx), { seed: SEED - 1, numRuns: LIMITED_PER_MINUTE * 3 })
      .filter((r) => r.route === 'GET /models')
      .map((r): FuzzRequest => ({ ...r, method: 'GET', caller: { kind: 'role', role: 'auditor' } }));
    const statuses: number[] = [];
    for (const r of requests) statuses.push((await sendPatiently(limitedPort, r, `Bearer ${tokens.auditor}`)).status);
    expect(statuses.filter((s) => s >= 500), `seed ${SEED - 1}: ${statuses.join(',')}`).toEqual([]);
    expect(statuses.filter((s) => s === 429).length, `seed ${SEED - 1}: ${statuses.join(',')}`).toBeGreaterThan(0);
    expect(await answersHealth(limitedPort)).toBe(true);
  });

  it(`limits callers whose token is refused too: more than ${LIMITED_PER_MINUTE} guesses a minute meet 429`, async () => {
    // Per caller, as the API promises: a token guesser is a caller, and must not get unlimited 401s.
    const statuses: number[] = [];
    for (let i = 0; i < LIMITED_PER_MINUTE * 2; i++) {
      const r: FuzzRequest = { route: 'GET /models', method: 'GET', path: '/models', caller: { kind: 'bad', header: 'Bearer stw_guess' }, headers: {} };
      statuses.push((await sendPatiently(limitedPort, r, 'Bearer stw_guess')).status);
    }
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(statuses.filter((s) => s === 429).length, statuses.join(',')).toBeGreaterThan(0);
  });
});
