import { generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { loadPublicKey, verifyBundle, type EvidenceBundle } from '../audit/bundle.js';
import { formatLineage, lineageOf, productionAt } from '../audit/lineage.js';
import { auditReplay, historiesIn, historiesOf } from '../audit/replay.js';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { formatPreview, previewPolicy } from '../audit/policy-preview.js';
import { lifecycleRunHistories, startInputOf, type History } from '../audit/run-histories.js';
import { lifecycleWorkflowId, parseModelVersionId } from '../core/model-id.js';
import { templates } from '../templates/index.js';
import { ContentStore } from '../evidence/content-store.js';
import { HistoryArchive } from '../evidence/history-archive.js';
import { bundleWorkflows } from '../workers/bundle.js';
import { createApiToken, revokeApiTokens } from '../api/tokens.js';
import { openCatalog } from '../catalog/db.js';
import { migrateToLatest } from '../catalog/migrate.js';
import { reconcileCatalog } from '../catalog/reconcile.js';
import { manifestJsonSchema } from '../core/manifest.js';
import { isRole, type Role } from '../core/principal.js';
import { connectClient } from '../platform/temporal.js';
import { ConfigError, loadConfig } from '../platform/config.js';
import { runDev } from './dev.js';
import { CliError, StewardHttp } from './http.js';
import { readManifestFile } from './manifest-file.js';

/** `steward`: the command line for engineers, approvers and operators. */
const program = new Command('steward').description('Steward: ModelOps lifecycles on Temporal');

const apiOptions = (cmd: Command) =>
  cmd
    .addOption(new Option('--api <url>', 'Steward API base URL').env('STEWARD_API').default('http://127.0.0.1:8080'))
    .addOption(new Option('--token <token>', 'API token').env('STEWARD_TOKEN'));

const http = (opts: { api: string; token?: string }) => new StewardHttp(opts.api, opts.token);
const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

async function withCatalog<T>(fn: (db: Awaited<ReturnType<typeof openCatalog>>) => Promise<T>): Promise<T> {
  const db = await openCatalog(loadConfig().catalog);
  try {
    await migrateToLatest(db);
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

program
  .command('dev')
  .description('run the whole stack locally on embedded defaults (Temporal dev server, catalog, worker, API)')
  .action(() => runDev(loadConfig()));

program
  .command('migrate')
  .description('bring the catalog schema to the latest version')
  .action(() =>
    withCatalog(async () => {
      process.stdout.write('catalog schema is up to date\n');
    }),
  );

const token = program.command('token').description('manage API tokens (stored only as SHA-256 hashes)');
token
  .command('create')
  .requiredOption('--principal <id>', 'who the token identifies')
  .requiredOption('--role <role...>', 'engineer | auditor | admin | approver:<group>')
  .option('--team <team...>', 'teams the principal belongs to (for separation of duties)', [])
  .action(async (opts: { principal: string; role: string[]; team: string[] }) => {
    const bad = opts.role.filter((r) => !isRole(r));
    if (bad.length) throw new CliError(`--role: ${bad.join(', ')} is not a role (engineer, auditor, admin, approver:<group>)`);
    const created = await withCatalog((db) => createApiToken(db, opts.principal, opts.role as Role[], opts.team));
    process.stdout.write(`${created}\n`);
  });
token
  .command('revoke')
  .requiredOption('--principal <id>')
  .action(async (opts: { principal: string }) => {
    const count = await withCatalog((db) => revokeApiTokens(db, opts.principal));
    process.stdout.write(`revoked ${count} token(s) of ${opts.principal}\n`);
  });

apiOptions(program.command('register <manifest>').description('register a model version from a JSON or YAML manifest')).action(
  async (file: string, opts: { api: string; token?: string }) => {
    const manifest = await readManifestFile(file);
    print((await http(opts).call('POST', '/models', manifest)).body);
  },
);

apiOptions(
  program.command('show <ref>').alias('status').description('show a model (name) or one version (name@version) with its lifecycle'),
).action(async (ref: string, opts: { api: string; token?: string }) => {
  print((await http(opts).call('GET', `/models/${encodeURIComponent(ref)}`)).body);
});

apiOptions(program.command('list').description('search the inventory (keyset-paginated; pass --cursor for the next page)'))
  .option('--stage <stage>')
  .option('--owner <owner>')
  .option('--team <team>')
  .option('--risk-tier <tier>')
  .option('--kind <kind>')
  .option('--framework <framework>')
  .option('--tag <tag...>', 'all of these tags')
  .option('-q, --query <text>', 'free-text search')
  .option('--deployed <yes|no>')
  .option('--sort <created|updated|name>')
  .option('--order <asc|desc>')
  .option('--limit <n>')
  .option('--cursor <cursor>')
  .action(async (opts: Record<string, string | string[] | undefined> & { api: string; token?: string }) => {
    const params = new URLSearchParams();
    const names: Record<string, string> = { riskTier: 'riskTier', query: 'q' };
    for (const key of ['stage', 'owner', 'team', 'riskTier', 'kind', 'framework', 'query', 'sort', 'order', 'limit', 'cursor']) {
      const value = opts[key];
      if (typeof value === 'string') params.set(names[key] ?? key, value);
    }
    for (const tag of (opts.tag as string[] | undefined) ?? []) params.append('tag', tag);
    if (typeof opts.deployed === 'string') params.set('deployed', ['yes', 'true'].includes(opts.deployed) ? 'true' : 'false');
    print((await http(opts).call('GET', `/models?${params}`)).body);
  });

apiOptions(program.command('production').description('what was in production at a time (default: now)'))
  .option('--at <time>', 'ISO 8601 time, e.g. 2026-03-01T12:00:00Z')
  .option('--model <name>')
  .action(async (opts: { api: string; token?: string; at?: string; model?: string }) => {
    const params = new URLSearchParams();
    if (opts.at) params.set('at', opts.at);
    if (opts.model) params.set('model', opts.model);
    print((await http(opts).call('GET', `/production?${params}`)).body);
  });

program
  .command('schema')
  .description('print the model manifest JSON Schema')
  .action(() => {
    print(manifestJsonSchema());
  });

program
  .command('reconcile')
  .description('rebuild or repair the catalog from the lifecycle histories in Temporal')
  .option('--drop', 'empty the projection tables first and rebuild them from scratch')
  .action(async (opts: { drop?: boolean }) => {
    const config = loadConfig();
    const client = await connectClient(config.temporal);
    try {
      const archive = new HistoryArchive(new ContentStore(config.evidenceDir));
      const report = await withCatalog((db) => reconcileCatalog(client, db, { drop: Boolean(opts.drop), archive }));
      print(report);
    } finally {
      await client.connection.close();
    }
  });

apiOptions(program.command('approvals').description('your approval inbox: gates you may decide, with their evidence')).action(
  async (opts: { api: string; token?: string }) => {
    print((await http(opts).call('GET', '/approvals')).body);
  },
);

for (const decision of ['approve', 'reject'] as const) {
  apiOptions(program.command(`${decision} <model>`).description(`${decision} a model version at its approval gate`))
    .option('-m, --comment <text>', decision === 'reject' ? 'the reason (required)' : 'why', '')
    .option('--idempotency-key <key>', 'retry-safe key; the same key is the same attempt')
    .action(async (id: string, opts: { api: string; token?: string; comment: string; idempotencyKey?: string }) => {
      const res = await http(opts).call(
        'POST',
        `/models/${encodeURIComponent(id)}/approvals`,
        { decision, comment: opts.comment },
        opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {},
      );
      print(res.body);
      if ((res.body as { verdict?: { status?: string } }).verdict?.status === 'refused') process.exitCode = 1;
    });
}

const ACTIONS = {
  retrain: 'request a retrain of a deployed model version',
  retire: 'retire a model version',
  promote: "end the template's shadow or canary phase now and move on",
} as const;
for (const [action, description] of Object.entries(ACTIONS)) {
  apiOptions(program.command(`${action} <model>`).description(description))
    .requiredOption('-r, --reason <text>', 'why')
    .action(async (id: string, opts: { api: string; token?: string; reason: string }) => {
      print((await http(opts).call('POST', `/models/${encodeURIComponent(id)}/${action}`, { reason: opts.reason })).body);
    });
}

const audit = program.command('audit').description('evidence for auditors: export, verify and replay lifecycle histories');

apiOptions(audit.command('export <model>').description('export the evidence bundle of name@version and its retrained descendants'))
  .option('-o, --out <file>', 'write the bundle here instead of standard output')
  .action(async (id: string, opts: { api: string; token?: string; out?: string }) => {
    const bundle = (await http(opts).call('GET', `/audit/models/${encodeURIComponent(id)}/export`)).body;
    if (opts.out) await writeFile(opts.out, `${JSON.stringify(bundle, null, 1)}\n`);
    else print(bundle);
  });

audit
  .command('verify <bundle>')
  .description('check every digest, the hash chain and the signature; names the first altered element')
  .option('--public-key <pem>', 'the trusted Ed25519 public key (PEM); without it the key in the bundle is used')
  .action(async (file: string, opts: { publicKey?: string }) => {
    const bundle = JSON.parse(await readFile(file, 'utf8')) as EvidenceBundle;
    const result = verifyBundle(bundle, opts.publicKey ? loadPublicKey(await readFile(opts.publicKey, 'utf8')) : undefined);
    if (!result.ok) throw new CliError(`${file}: ${result.problem}`);
    process.stdout.write(`${file}: OK (${bundle.chain.length} histories${bundle.signature ? ', signed' : ', unsigned'})\n`);
  });

audit
  .command('replay <target>')
  .description('replay an evidence bundle, a history JSON (temporal CLI or Web UI), or name@version against the current code')
  .action(async (target: string) => {
    const parsed = parseModelVersionId(target);
    let histories;
    if (parsed.ok && !target.endsWith('.json')) {
      const config = loadConfig();
      const client = await connectClient(config.temporal);
      try {
        histories = await historiesOf(client, parsed.value, new HistoryArchive(new ContentStore(config.evidenceDir)));
      } finally {
        await client.connection.close();
      }
    } else {
      histories = historiesIn(JSON.parse(await readFile(target, 'utf8')), target);
    }
    const report = await auditReplay(histories, await bundleWorkflows());
    for (const r of report) process.stdout.write(r.ok ? `OK    ${r.history}\n` : `FAIL  ${r.history} at event ${r.eventId ?? '?'}: ${r.error}\n`);
    if (report.some((r) => !r.ok)) process.exitCode = 1;
  });

apiOptions(
  audit
    .command('lineage <source>')
    .description('lineage of name@version (exported through the API) or of a bundle file, derived from histories only'),
)
  .option('--json', 'machine-readable output')
  .option('--at <time>', 'also answer: what was in production at this time, approved by whom, on which evidence')
  .action(async (source: string, opts: { api: string; token?: string; json?: boolean; at?: string }) => {
    const bundle = (
      source.endsWith('.json')
        ? JSON.parse(await readFile(source, 'utf8'))
        : (await http(opts).call('GET', `/audit/models/${encodeURIComponent(source)}/export`)).body
    ) as EvidenceBundle;
    const report = lineageOf(bundle);
    if (opts.at && Number.isNaN(Date.parse(opts.at))) throw new CliError(`--at: "${opts.at}" is not an ISO 8601 time`);
    const atT = opts.at ? { at: opts.at, production: productionAt(report, new Date(opts.at)) } : null;
    if (opts.json) print({ ...report, ...(atT ? { pointInTime: atT } : {}) });
    else process.stdout.write(`${formatLineage(report)}\n${atT ? `\nIn production at ${atT.at}:\n${JSON.stringify(atT.production, null, 2)}\n` : ''}`);
  });

audit
  .command('keygen')
  .description('create an Ed25519 key pair for signing bundles (STEWARD_AUDIT_SIGNING_KEY=<dir>/signing-key.pem)')
  .requiredOption('--dir <dir>')
  .action(async (opts: { dir: string }) => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    await writeFile(join(opts.dir, 'signing-key.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    await writeFile(join(opts.dir, 'signing-key.pub.pem'), publicKey.export({ format: 'pem', type: 'spki' }));
    process.stdout.write(`wrote ${join(opts.dir, 'signing-key.pem')} and signing-key.pub.pem\n`);
  });

const templateCommands = program.command('templates').description('lifecycle templates: what is released, and what a candidate would change');

templateCommands
  .command('list')
  .description('every released template version')
  .action(() => {
    for (const t of templates.list()) {
      process.stdout.write(`${t.ref.padEnd(18)} ${t.description}${t.migrateFrom?.length ? ` (migrates ${t.migrateFrom.join(', ')})` : ''}\n`);
    }
  });

templateCommands
  .command('preview <source>')
  .description('how a candidate template would have decided on the evidence a lifecycle recorded (name@version, or a history or bundle JSON)')
  .requiredOption('--template <ref>', 'the candidate, name or name@version')
  .option('--json', 'machine-readable output')
  .action(async (source: string, opts: { template: string; json?: boolean }) => {
    let candidate;
    try {
      candidate = templates.resolve(opts.template);
    } catch (err) {
      throw new CliError(`--template: ${err instanceof Error ? err.message : String(err)}`);
    }
    const preview = await previewPolicy(await lifecycleRuns(source), candidate);
    process.stdout.write(opts.json ? `${JSON.stringify(preview, null, 2)}\n` : formatPreview(preview));
  });

/** A lifecycle's runs, oldest first: live or archived by name@version, or from a history or bundle file. */
async function lifecycleRuns(source: string): Promise<History[]> {
  const parsed = parseModelVersionId(source);
  if (parsed.ok && !source.endsWith('.json')) {
    const config = loadConfig();
    const client = await connectClient(config.temporal);
    try {
      const runs = await lifecycleRunHistories(client, lifecycleWorkflowId(parsed.value), new HistoryArchive(new ContentStore(config.evidenceDir)));
      if (!runs.length) throw new CliError(`no lifecycle for ${source}`);
      return runs.map((r) => r.history);
    } finally {
      await client.connection.close();
    }
  }
  let document: unknown;
  try {
    document = JSON.parse(await readFile(source, 'utf8'));
  } catch (err) {
    throw new CliError(`${source}: ${err instanceof Error ? err.message : String(err)}`);
  }
  // A bundle holds the version and its descendants: preview the first lifecycle, the one the bundle is about.
  const histories = historiesIn(document, source).map((h) => historyFromJSON(h.json));
  const first = histories.findIndex((h) => startInputOf(h).resume === undefined);
  if (first < 0) throw new CliError(`${source} holds no first run of a lifecycle (every run is a continuation)`);
  const end = histories.findIndex((h, i) => i > first && startInputOf(h).resume === undefined);
  return histories.slice(first, end < 0 ? undefined : end);
}

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof CliError || err instanceof ConfigError) {
    process.stderr.write(`steward: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
