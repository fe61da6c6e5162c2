import { generateKeyPairSync } from 'node:crypto';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
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
import {
  issueApiToken,
  listApiTokens,
  principalId,
  revokeApiToken,
  revokeApiTokens,
  tokenRequestSchema,
  type TokenRecord,
} from '../api/tokens.js';
import { openCatalog } from '../catalog/db.js';
import { migrateToLatest } from '../catalog/migrate.js';
import { reconcileCatalog } from '../catalog/reconcile.js';
import { manifestJsonSchema } from '../core/manifest.js';
import { connectClient } from '../platform/temporal.js';
import { ConfigError, loadConfig } from '../platform/config.js';
import { runDev } from './dev.js';
import { CliError, StewardHttp } from './http.js';
import { readManifestFile } from './manifest-file.js';
import { readJsonFile, readTextFile, writeTextFile } from './files.js';
import { monitoringCommands } from './monitoring.js';

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
apiOptions(token.command('create').description('create a token and print it (shown once)'))
  .requiredOption('--principal <id>', 'who the token identifies')
  .requiredOption('--role <role...>', 'engineer | auditor | admin | approver:<group>')
  .option('--team <team...>', 'teams the principal belongs to (for separation of duties)', [])
  .action(async (opts: { principal: string; role: string[]; team: string[]; api: string; token?: string }) => {
    const request = tokenRequest(opts);
    const created = await tokenStore(opts, {
      api: async (h) => ((await h.call('POST', '/tokens', request)).body as { token: string }).token,
      catalog: (db) => issueApiToken(db, request).then((t) => t.token),
    });
    process.stdout.write(`${created}\n`);
  });
apiOptions(token.command('revoke').description("revoke a principal's tokens, or one token by id; effective on the next request"))
  .option('--principal <id>', 'revoke every active token of this principal')
  .option('--id <id>', 'revoke this one token (ids are listed by `steward token list`)')
  .action(async (opts: { principal?: string; id?: string; api: string; token?: string }) => {
    if ((opts.principal === undefined) === (opts.id === undefined)) throw new CliError('token revoke: give either --principal <id> or --id <token id>');
    if (opts.id !== undefined) {
      const id = Number(opts.id);
      if (!Number.isSafeInteger(id) || id <= 0) throw new CliError(`--id: "${opts.id}" is not a token id`);
      const revoked = await tokenStore(opts, {
        api: async (h) => (await h.call('DELETE', `/tokens/${id}`)).body as TokenRecord,
        catalog: async (db) => {
          const record = await revokeApiToken(db, id);
          if (!record) throw new CliError(`--id: no active token ${id}`);
          return record;
        },
      });
      process.stdout.write(`revoked token ${revoked.id} of ${revoked.principal}\n`);
      return;
    }
    const principal = principalId.safeParse(opts.principal);
    if (!principal.success) throw new CliError(`--principal: ${principal.error.issues[0]!.message}`);
    const count = await tokenStore(opts, {
      api: async (h) => ((await h.call('DELETE', `/tokens?principal=${encodeURIComponent(principal.data)}`)).body as { revoked: number }).revoked,
      catalog: (db) => revokeApiTokens(db, principal.data),
    });
    process.stdout.write(`revoked ${count} token(s) of ${principal.data}\n`);
  });
apiOptions(token.command('list').description('list active tokens (never the tokens themselves)'))
  .option('--principal <id>')
  .option('--all', 'include revoked tokens')
  .action(async (opts: { principal?: string; all?: boolean; api: string; token?: string }) => {
    const params = new URLSearchParams({ ...(opts.principal ? { principal: opts.principal } : {}), ...(opts.all ? { includeRevoked: 'true' } : {}) });
    const items = await tokenStore(opts, {
      api: async (h) => ((await h.call('GET', `/tokens?${params}`)).body as { items: TokenRecord[] }).items,
      catalog: (db) => listApiTokens(db, { ...(opts.principal ? { principal: opts.principal } : {}), includeRevoked: Boolean(opts.all) }),
    });
    print(items);
  });

/** `--principal`, `--role`, `--team` checked with the API's own schema, errors naming the option. */
function tokenRequest(opts: { principal: string; role: string[]; team: string[] }) {
  const parsed = tokenRequestSchema.safeParse({ principal: opts.principal, roles: opts.role, teams: opts.team });
  if (parsed.success) return parsed.data;
  const option: Record<string, string> = { principal: '--principal', roles: '--role', teams: '--team' };
  const issue = parsed.error.issues[0]!;
  const [field, index] = issue.path;
  const value = index !== undefined ? ` "${String((opts as unknown as Record<string, string[]>)[option[String(field)]!.slice(2)]?.[Number(index)])}"` : '';
  throw new CliError(`${option[String(field)] ?? String(field)}${value}: ${issue.message}`);
}

/**
 * Where token commands act. With a token (--token or STEWARD_TOKEN) always through the API, which must then be
 * an admin's: that is the only way to reach an embedded catalog, which belongs to the one process that opened
 * it (a second PGlite on the same directory neither sees nor is seen by the first, and they overwrite each
 * other's pages). Without a token, straight on a PostgreSQL catalog; an embedded one is refused.
 */
async function tokenStore<T>(
  opts: { api: string; token?: string },
  via: { api: (h: StewardHttp) => Promise<T>; catalog: (db: Awaited<ReturnType<typeof openCatalog>>) => Promise<T> },
): Promise<T> {
  if (opts.token) return via.api(http(opts));
  const config = loadConfig();
  if (config.catalog.kind === 'embedded') {
    throw new CliError(
      `the catalog is embedded (PGlite in ${resolve(config.catalog.dataDir)}) and belongs to the process running it; ` +
        'manage tokens through that API with an admin token (--token or STEWARD_TOKEN; `npm run dev` prints dev-admin\'s), ' +
        'or set DATABASE_URL to a PostgreSQL catalog',
    );
  }
  return withCatalog(via.catalog);
}

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
    params.set('limit', '500');
    print(await http(opts).allPages('/production', params, 'deployments'));
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
    print(await http(opts).allPages('/approvals', new URLSearchParams({ limit: '200' }), 'items'));
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
  rollback: "end the template's shadow or canary phase now and roll the candidate back; the champion keeps serving",
} as const;
for (const [action, description] of Object.entries(ACTIONS)) {
  apiOptions(program.command(`${action} <model>`).description(description))
    .requiredOption('-r, --reason <text>', 'why')
    .action(async (id: string, opts: { api: string; token?: string; reason: string }) => {
      print((await http(opts).call('POST', `/models/${encodeURIComponent(id)}/${action}`, { reason: opts.reason })).body);
    });
}

apiOptions(program.command('score <model>').description('batch-score a CSV or JSON Lines file with a serving model version; predictions go to a JSON Lines file'))
  .requiredOption('-i, --input <uri>', 'the input file: a URI the API may read, or a local path (sent as file://)')
  .option('--sha256 <digest>', "the input's expected SHA-256; nothing is kept if it differs")
  .option('--batch-id <id>', 'names the batch and its output file; the same id is the same job')
  .option('--wait', 'wait until the batch ends and print its result')
  .action(async (id: string, opts: { api: string; token?: string; input: string; sha256?: string; batchId?: string; wait?: boolean }) => {
    const inputUri = opts.input.includes('://') ? opts.input : pathToFileURL(resolve(opts.input)).href;
    const path = `/models/${encodeURIComponent(id)}/batch-scoring`;
    const body = { inputUri, ...(opts.sha256 ? { inputSha256: opts.sha256 } : {}), ...(opts.batchId ? { batchId: opts.batchId } : {}) };
    const started = (await http(opts).call('POST', path, body)).body as { batchId: string; status: string };
    if (!opts.wait) return print(started);
    let state = started as { status: string; error?: string };
    for (let delay = 250; state.status === 'running'; delay = Math.min(delay * 2, 5_000)) {
      await sleep(delay);
      state = (await http(opts).call('GET', `${path}/${encodeURIComponent(started.batchId)}`)).body as typeof state;
    }
    print(state);
    if (state.status === 'failed') process.exitCode = 1;
  });

const audit = program.command('audit').description('evidence for auditors: export, verify and replay lifecycle histories');

apiOptions(audit.command('export <model>').description('export the evidence bundle of name@version and its retrained descendants'))
  .option('-o, --out <file>', 'write the bundle here instead of standard output')
  .action(async (id: string, opts: { api: string; token?: string; out?: string }) => {
    const bundle = (await http(opts).call('GET', `/audit/models/${encodeURIComponent(id)}/export`)).body;
    if (opts.out) await writeTextFile(opts.out, `${JSON.stringify(bundle, null, 1)}\n`);
    else print(bundle);
  });

audit
  .command('verify <bundle>')
  .description('check every digest, the hash chain and the signature; names the first altered element')
  .option('--public-key <pem>', 'the trusted Ed25519 public key (PEM); without it the key in the bundle is used')
  .action(async (file: string, opts: { publicKey?: string }) => {
    const trusted = opts.publicKey ? await publicKeyFile(opts.publicKey) : undefined;
    const result = verifyBundle(await readJsonFile(file), trusted);
    if (!result.ok) throw new CliError(`${file}: ${result.problem}`);
    const signed = result.signedBy ? `, signed by ${result.signedBy}${trusted ? ' (the trusted key)' : '; pass --public-key to check it is yours'}` : ', unsigned';
    process.stdout.write(`${file}: OK (format ${result.format}, ${result.histories} histories${signed})\n`);
  });

async function publicKeyFile(file: string) {
  const pem = await readTextFile(file);
  try {
    return loadPublicKey(pem);
  } catch (err) {
    throw new CliError(`${file}: is not a public key in PEM: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The histories in a bundle or history file, or one line saying why there are none. */
async function historiesInFile(file: string) {
  const document = await readJsonFile(file);
  let histories;
  try {
    histories = historiesIn(document, file);
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err));
  }
  for (const h of histories) {
    try {
      historyFromJSON(h.json);
    } catch (err) {
      throw new CliError(`${file}: ${h.name === file ? '' : `${h.name}: `}is not a workflow history: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return histories;
}

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
      histories = await historiesInFile(target);
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
    const bundle = source.endsWith('.json')
      ? await readJsonFile(source)
      : (await http(opts).call('GET', `/audit/models/${encodeURIComponent(source)}/export`)).body;
    // Lineage reads the histories only, and only of a bundle whose digests (and signature) hold.
    const verified = verifyBundle(bundle);
    if (!verified.ok) throw new CliError(`${source}: refusing to derive a lineage from a bundle that does not verify: ${verified.problem}`);
    const report = lineageOf(bundle as EvidenceBundle);
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
    await writeTextFile(join(opts.dir, 'signing-key.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 0o600);
    await writeTextFile(join(opts.dir, 'signing-key.pub.pem'), publicKey.export({ format: 'pem', type: 'spki' }).toString());
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
  // A bundle holds the version and its descendants: preview the first lifecycle, the one the bundle is about.
  let histories: History[];
  let first: number;
  try {
    histories = (await historiesInFile(source)).map((h) => historyFromJSON(h.json));
    first = histories.findIndex((h) => startInputOf(h).resume === undefined);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`${source}: is not a lifecycle history or bundle: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (first < 0) throw new CliError(`${source} holds no first run of a lifecycle (every run is a continuation)`);
  const end = histories.findIndex((h, i) => i > first && startInputOf(h).resume === undefined);
  return histories.slice(first, end < 0 ? undefined : end);
}

monitoringCommands(program, apiOptions, http, print);

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof CliError || err instanceof ConfigError) {
    process.stderr.write(`steward: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
