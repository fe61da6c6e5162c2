import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Kysely, PostgresDialect, sql, type LogEvent } from 'kysely';
import pg from 'pg';
import { approvalInbox } from '../catalog/approvals-inbox.js';
import { openCatalog, type CatalogDb } from '../catalog/db.js';
import { modelPage, productionPage, searchVersions, versionPage, type PageRequest, type SearchFilters } from '../catalog/inventory.js';
import { migrateToLatest } from '../catalog/migrate.js';
import type { CatalogSchema } from '../catalog/schema.js';
import type { Principal } from '../core/principal.js';
import { startPostgresCluster } from '../test/harness/postgres-cluster.js';
import { generateCatalog } from './catalog-data.js';

/**
 * `npm run bench:catalog`: latency of every catalog query the API runs, at scale.
 *
 * A throwaway PostgreSQL cluster (the machine's server binaries, as the integration tests use) is migrated
 * and filled with `--versions` model versions (default 100,000; bench/catalog-data.ts describes their shape).
 * Each query below then runs warm, sequentially, `--runs` times (default 300, fewer if one query would take
 * longer than `--budget` seconds), and p50/p99 are printed against the goal (p99 < 20 ms). The queries call
 * the same catalog functions the routes call (searchVersions for GET /models, modelPage and versionPage for
 * GET /models/:ref, inProductionAt for GET /production, approvalInbox for GET /approvals), on a catalog opened
 * by `openCatalog` exactly as the API opens it; HTTP, auth and JSON serialisation are not included.
 * The same suite then runs on the embedded catalog (PGlite, in memory) with `--embedded-versions` (10,000).
 * The JSON goes to `--json` (default .steward/bench-catalog.json); the process exits 1 if a PostgreSQL query misses.
 * `--explain` prints EXPLAIN (ANALYZE, BUFFERS) of every SQL statement each query issues (PostgreSQL).
 */

const { values: args } = parseArgs({
  options: {
    versions: { type: 'string', default: '100000' },
    'embedded-versions': { type: 'string', default: '10000' },
    runs: { type: 'string', default: '300' },
    budget: { type: 'string', default: '15' },
    explain: { type: 'boolean', default: false },
    json: { type: 'string', default: '.steward/bench-catalog.json' },
    only: { type: 'string' },
    'skip-embedded': { type: 'boolean', default: false },
    'skip-postgres': { type: 'boolean', default: false },
  },
});
const int = (name: string, raw: string | undefined) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return n;
};
const VERSIONS = int('versions', args.versions);
const EMBEDDED_VERSIONS = int('embedded-versions', args['embedded-versions']);
const RUNS = int('runs', args.runs);
const BUDGET_MS = int('budget', args.budget) * 1000;
const GOAL_MS = 20;
const WARMUP = 5;

const say = (m: string) => process.stderr.write(`[bench] ${m}\n`);

/** One query as the API runs it; `pick` varies its argument per run (a different model, version, time). */
interface Case {
  readonly name: string;
  readonly run: (i: number) => Promise<unknown>;
}

interface Fixtures {
  readonly modelNames: string[];
  readonly versionIds: string[];
  readonly times: Date[];
  readonly deepCursors: Record<string, string>;
  readonly approver: Principal;
  /** A time in the middle of the data and a production cursor half-way through what served then. */
  readonly deepProduction: { readonly at: Date; readonly cursor: string };
  readonly inboxCursor: string | null;
}

const page = (over: Partial<PageRequest> = {}): PageRequest => ({ sort: 'created', order: 'desc', limit: 50, ...over });

/** The search cursor format (catalog/inventory.ts): the sort key and id of the last row served. */
const cursorFor = (s: string, o: string, v: string, id: string) => Buffer.from(JSON.stringify({ s, o, v, id })).toString('base64url');

async function fixtures(db: CatalogDb): Promise<Fixtures> {
  const sample = await sql<{ id: string; name: string }>`select id, name from model_versions tablesample system (5) limit 400`.execute(db);
  const rows = sample.rows.length >= 50 ? sample.rows : (await sql<{ id: string; name: string }>`select id, name from model_versions order by random() limit 400`.execute(db)).rows;
  const span = await sql<{ lo: Date; hi: Date }>`select min(from_time) as lo, max(from_time) as hi from deployments`.execute(db);
  const { lo, hi } = span.rows[0]!;
  const times = Array.from({ length: 200 }, (_, i) => new Date(+lo + ((+hi - +lo) * (i * 7919 % 200)) / 200));
  const total = Number((await sql<{ n: string }>`select count(*) as n from model_versions`.execute(db)).rows[0]!.n);
  const deep = Math.floor(total / 2);
  const at = async (order: string, where = sql`true`) =>
    (await sql<{ id: string; created_at: Date; updated_at: Date; name: string }>`
      select id, created_at, updated_at, name from model_versions where ${where} order by ${sql.raw(order)} offset ${deep / 2} limit 1`.execute(db)).rows[0]!;
  const c1 = await at('created_at desc, id desc');
  const c2 = await at('name asc, id asc');
  const c3 = await at('updated_at asc, id asc');
  const c4 = await at('created_at desc, id desc', sql`stage = 'retire'`);
  const midTime = times.find((t) => +t > +lo + (+hi - +lo) / 2) ?? hi;
  const serving = Number((await sql<{ n: string }>`
    select count(*) as n from deployments where traffic_share > 0 and from_time <= ${midTime} and (to_time is null or to_time > ${midTime})`.execute(db)).rows[0]!.n);
  const mid = (await sql<{ model_name: string; target: string; from_time: Date; id: string }>`
    select model_name, target, from_time, id from deployments where traffic_share > 0 and from_time <= ${midTime} and (to_time is null or to_time > ${midTime})
    order by model_name, target, from_time, id offset ${Math.floor(serving / 2)} limit 1`.execute(db)).rows[0]!;
  const approver: Principal = { id: 'approver-7', roles: ['approver:risk'], teams: ['fraud'] };
  const inboxCursor = (await approvalInbox(db, approver)).nextCursor;
  return {
    deepProduction: {
      at: midTime,
      cursor: Buffer.from(JSON.stringify({ at: midTime.toISOString(), m: mid.model_name, t: mid.target, f: mid.from_time.toISOString(), id: mid.id })).toString('base64url'),
    },
    inboxCursor,
    modelNames: rows.map((r) => r.name),
    versionIds: rows.map((r) => r.id),
    times,
    deepCursors: {
      created: cursorFor('created', 'desc', c1.created_at.toISOString(), c1.id),
      name: cursorFor('name', 'asc', c2.name, c2.id),
      updated: cursorFor('updated', 'asc', c3.updated_at.toISOString(), c3.id),
      retired: cursorFor('created', 'desc', c4.created_at.toISOString(), c4.id),
    },
    approver,
  };
}

function cases(db: CatalogDb, f: Fixtures): Case[] {
  const search = (name: string, filters: SearchFilters, p: Partial<PageRequest> = {}): Case => ({
    name,
    run: () => searchVersions(db, filters, page(p)),
  });
  const of = <T>(xs: readonly T[], i: number) => xs[i % xs.length]!;
  return [
    search('search: no filter (created desc)', {}),
    search('search: stage=monitor', { stage: 'monitor' }),
    search('search: stage=approval', { stage: 'approval' }),
    search('search: owner', { owner: 'owner-7' }),
    search('search: team', { team: 'fraud' }),
    search('search: riskTier=critical', { riskTier: 'critical' }),
    search('search: kind=vendor', { kind: 'vendor' }),
    search('search: framework', { framework: 'xgboost' }),
    search('search: tag', { tags: ['gdpr'] }),
    search('search: two tags', { tags: ['credit', 'eu'] }),
    search('search: template (any version)', { template: 'high-risk' }),
    search('search: template exact', { template: 'high-risk@2' }),
    search('search: name (one model)', { name: f.modelNames[0]! }),
    search('search: deployed=true', { deployed: true }),
    search('search: deployed=false', { deployed: false }),
    search('search: q one word', { q: 'fraud' }),
    search('search: q prose (stemmed)', { q: 'forecasts demand' }),
    search('search: q compound name', { q: 'card-detector' }),
    search('search: q rare word', { q: 'ifrs9 mortgage' }),
    search('search: team+stage', { team: 'credit-risk', stage: 'monitor' }),
    search('search: riskTier+deployed', { riskTier: 'high', deployed: true }),
    search('search: owner+deployed=false', { owner: 'owner-3', deployed: false }),
    search('search: tag+kind, sort updated', { tags: ['realtime'], kind: 'ml' }, { sort: 'updated' }),
    search('search: q+team', { q: 'credit', team: 'credit-risk' }),
    search('search: q+deployed', { q: 'churn', deployed: true }),
    search('search: stage+riskTier+framework', { stage: 'retire', riskTier: 'low', framework: 'onnx' }),
    search('search: sort created asc', {}, { order: 'asc' }),
    search('search: sort updated desc', {}, { sort: 'updated' }),
    search('search: sort name asc', {}, { sort: 'name', order: 'asc' }),
    search('search: sort name desc, limit 200', {}, { sort: 'name', limit: 200 }),
    search('search: deep page (created, 25% in)', {}, { cursor: f.deepCursors.created! }),
    search('search: deep page (name, 25% in)', {}, { sort: 'name', order: 'asc', cursor: f.deepCursors.name! }),
    search('search: deep page (updated asc)', {}, { sort: 'updated', order: 'asc', cursor: f.deepCursors.updated! }),
    search('search: deep page stage=retire', { stage: 'retire' }, { cursor: f.deepCursors.retired! }),
    { name: 'model page', run: (i) => modelPage(db, of(f.modelNames, i)) },
    { name: 'version page', run: (i) => versionPage(db, of(f.versionIds, i)) },
    // GET /production's default page size (100).
    { name: 'production at T: one model', run: (i) => productionPage(db, { at: of(f.times, i), model: of(f.modelNames, i), limit: 100 }) },
    { name: 'production now: one model', run: (i) => productionPage(db, { model: of(f.modelNames, i), limit: 100 }) },
    { name: 'production at T: all models (page 1)', run: (i) => productionPage(db, { at: of(f.times, i), limit: 100 }) },
    { name: 'production now: all models (page 1)', run: () => productionPage(db, { limit: 100 }) },
    { name: 'production at T: all models (deep page)', run: () => productionPage(db, { limit: 100, cursor: f.deepProduction.cursor }) },
    // GET /approvals's default page size (50).
    { name: 'approvals inbox (page 1)', run: () => approvalInbox(db, f.approver, { limit: 50 }) },
    ...(f.inboxCursor ? [{ name: 'approvals inbox (page 2)', run: () => approvalInbox(db, f.approver, { limit: 50, cursor: f.inboxCursor! }) }] : []),
  ];
}

interface Result {
  readonly query: string;
  readonly runs: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly goalMet: boolean;
}

const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

async function measure(c: Case): Promise<Result> {
  for (let i = 0; i < WARMUP; i++) await c.run(i);
  const times: number[] = [];
  const started = performance.now();
  for (let i = 0; i < RUNS && (times.length < 20 || performance.now() - started < BUDGET_MS); i++) {
    const t = performance.now();
    await c.run(i);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const p99 = quantile(times, 0.99);
  return { query: c.name, runs: times.length, p50: quantile(times, 0.5), p99, max: times.at(-1)!, goalMet: p99 < GOAL_MS };
}

function table(title: string, results: readonly Result[]): string {
  const width = Math.max(...results.map((r) => r.query.length), 5);
  const f = (n: number) => n.toFixed(n < 10 ? 2 : 1).padStart(8);
  const lines = [
    title,
    `${'query'.padEnd(width)}  ${'runs'.padStart(5)}  ${'p50 ms'.padStart(8)}  ${'p99 ms'.padStart(8)}  goal (p99 < ${GOAL_MS} ms)`,
    ...results.map((r) => `${r.query.padEnd(width)}  ${String(r.runs).padStart(5)}  ${f(r.p50)}  ${f(r.p99)}  ${r.goalMet ? 'met' : 'NOT MET'}`),
    `${results.filter((r) => r.goalMet).length} of ${results.length} queries meet the goal`,
  ];
  return lines.join('\n');
}

/** Runs each case once on a Kysely that records its SQL, then prints the plan of every statement it issued. */
async function explain(url: string, list: readonly Case[], rebuild: (db: CatalogDb) => Case[]): Promise<void> {
  const seen: { sql: string; parameters: readonly unknown[] }[] = [];
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const logging = new Kysely<CatalogSchema>({
    dialect: new PostgresDialect({ pool }),
    log: (e: LogEvent) => {
      if (e.level === 'query') seen.push({ sql: e.query.sql, parameters: e.query.parameters });
    },
  });
  try {
    const replay = rebuild(logging);
    for (const [i, c] of list.entries()) {
      seen.length = 0;
      await replay[i]!.run(0);
      process.stdout.write(`\n=== ${c.name}\n`);
      for (const q of [...seen]) {
        const plan = await pool.query(`explain (analyze, buffers) ${q.sql}`, q.parameters as unknown[]);
        process.stdout.write(`${q.sql}\n${plan.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n')}\n\n`);
      }
    }
  } finally {
    await logging.destroy();
  }
}

async function suite(db: CatalogDb, label: string, versions: number, url?: string): Promise<Result[]> {
  say(`${label}: migrating`);
  await migrateToLatest(db);
  say(`${label}: generating ${versions.toLocaleString('en-US')} versions`);
  const started = Date.now();
  await generateCatalog(db, versions, say);
  const counts = await sql<{ t: string; n: string }>`
    select 'model_versions' as t, count(*) as n from model_versions union all select 'stage_transitions', count(*) from stage_transitions
    union all select 'approval_attempts', count(*) from approval_attempts union all select 'deployments', count(*) from deployments
    union all select 'reports', count(*) from reports union all select 'models', count(*) from models`.execute(db);
  say(`${label}: generated in ${((Date.now() - started) / 1000).toFixed(1)} s: ${counts.rows.map((r) => `${r.t} ${Number(r.n).toLocaleString('en-US')}`).join(', ')}`);
  const f = await fixtures(db);
  let list = cases(db, f);
  if (args.only) list = list.filter((c) => c.name.includes(args.only!));
  if (args.explain && url) await explain(url, list, (logging) => cases(logging, f).filter((c) => list.some((l) => l.name === c.name)));
  const results: Result[] = [];
  for (const c of list) {
    const r = await measure(c);
    say(`${label}: ${r.query}: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms (${r.runs} runs)`);
    results.push(r);
  }
  return results;
}

async function main(): Promise<void> {
  const report: Record<string, unknown> = {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
    goalMs: GOAL_MS,
    measured: 'catalog functions the routes call (searchVersions, modelPage, versionPage, inProductionAt, approvalInbox), sequential, warm',
  };
  const tables: string[] = [];
  if (!args['skip-postgres']) {
    const cluster = await startPostgresCluster();
    const db = await openCatalog({ kind: 'postgres', url: cluster.url });
    try {
      const server = (await sql<{ v: string }>`select current_setting('server_version') as v`.execute(db)).rows[0]!.v;
      const results = await suite(db, 'PostgreSQL', VERSIONS, cluster.url);
      report.postgres = { server, versions: VERSIONS, results };
      tables.push(table(`PostgreSQL ${server}, ${VERSIONS.toLocaleString('en-US')} versions`, results));
    } finally {
      await db.destroy();
      await cluster.stop();
    }
  }
  if (!args['skip-embedded']) {
    const db = await openCatalog({ kind: 'embedded', dataDir: 'memory://' });
    try {
      const results = await suite(db, 'PGlite', EMBEDDED_VERSIONS);
      report.embedded = { versions: EMBEDDED_VERSIONS, results };
      tables.push(table(`Embedded catalog (PGlite, in memory), ${EMBEDDED_VERSIONS.toLocaleString('en-US')} versions`, results));
    } finally {
      await db.destroy();
    }
  }
  process.stdout.write(`\n${tables.join('\n\n')}\n`);
  await mkdir(dirname(args.json!), { recursive: true });
  await writeFile(args.json!, `${JSON.stringify(report, null, 2)}\n`);
  say(`wrote ${args.json}`);
  const pgResults = (report.postgres as { results: Result[] } | undefined)?.results ?? [];
  if (pgResults.some((r) => !r.goalMet)) process.exitCode = 1;
}

await main();
