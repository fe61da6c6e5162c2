import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { exportBundle, loadPrivateKey, loadPublicKey, verifyBundle, type EvidenceBundle } from '../audit/bundle.js';
import { auditReplay } from '../audit/replay.js';
import { createApiToken } from '../api/tokens.js';
import type { ManifestInput } from '../core/manifest.js';
import { lifecycleWorkflowId, type ModelVersionRef } from '../core/model-id.js';
import { defaultPolicy, type LifecyclePolicy } from '../core/policy.js';
import { bundleWorkflows } from '../workers/bundle.js';
import type { NamedHistory } from '../workers/replay.js';
import type { LifecycleResult } from '../workflows/lifecycle.js';
import { statusQuery } from '../workflows/messages.js';
import { eventually } from '../test/harness/index.js';
import { sampleManifest } from '../test/harness/manifests.js';
import { startBenchStack, type BenchStack } from './stack.js';

/**
 * `npm run bench:audit`: throughput and latency of the audit features.
 *
 * 1. Replay: the recorded lifecycle histories in test/fixtures/histories (every file; they were recorded from
 *    real lifecycles on a Temporal dev server) replayed cyclically until 1,000 histories have been replayed,
 *    in one `auditReplay` call (Worker.runReplayHistories), against a workflow bundle built once beforehand.
 * 2. Export: on a real Temporal dev server and real PostgreSQL, one model registered, approved, deployed and
 *    retrained 9 times from its newest version (10 versions, parent → child), each version approved by an
 *    approver other than the registrant and monitored through at least one continue-as-new, the last one
 *    retired; then `exportBundle` of the root version, signed with an Ed25519 key, and `verifyBundle`.
 */

const REPLAY_HISTORIES = 1000;
const VERSIONS = 10;
const EXPORT_RUNS = 5;
const VERIFY_RUNS = 5;
const POLICY: LifecyclePolicy = { ...defaultPolicy, monitor: { intervalMs: 150, cyclesPerRun: 2 } };

const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const FIXTURES = join(repoRoot, 'test', 'fixtures', 'histories');

const say = (m: string) => process.stderr.write(`[bench] ${m}\n`);
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => n.toFixed(n < 10 ? 2 : 1);
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function timed<T>(fn: () => Promise<T> | T): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}

// ---------------------------------------------------------------------------------------------------------
// 1. Replay throughput

interface ReplayResult {
  readonly fixtures: number;
  readonly histories: number;
  readonly events: number;
  readonly seconds: number;
  readonly failures: readonly string[];
}

async function benchReplay(workflowBundle: Awaited<ReturnType<typeof bundleWorkflows>>): Promise<ReplayResult> {
  const files = (await readdir(FIXTURES)).filter((f) => f.endsWith('.json')).sort();
  if (files.length === 0) throw new Error(`no recorded histories in ${FIXTURES}`);
  const fixtures = await Promise.all(
    files.map(async (file) => ({ file, json: JSON.parse(await readFile(join(FIXTURES, file), 'utf8')) as { events: unknown[] } })),
  );
  // workers/replay.ts hands each history's name to the replayer as its workflow id, so every copy gets a name
  // of its own (`<fixture>#<copy>`). The histories themselves are not altered: run ids repeat across copies,
  // which Temporal's replayer supports (it replays one history at a time and evicts it before the next).
  const histories: NamedHistory[] = [];
  let events = 0;
  for (let i = 0; i < REPLAY_HISTORIES; i++) {
    const fixture = fixtures[i % fixtures.length]!;
    histories.push({ name: `${fixture.file}#${Math.floor(i / fixtures.length) + 1}`, json: fixture.json });
    events += fixture.json.events.length;
  }
  say(`replaying ${histories.length} histories (${fixtures.length} recorded fixtures, cyclically)`);
  const { value: reports, ms: elapsed } = await timed(() => auditReplay(histories, workflowBundle));
  const failures = reports.filter((r) => !r.ok).map((r) => `${r.history}: ${r.error ?? 'failed'}`);
  if (reports.length !== histories.length) failures.push(`${histories.length} histories given, ${reports.length} replayed`);
  return { fixtures: fixtures.length, histories: reports.length, events, seconds: elapsed / 1000, failures };
}

// ---------------------------------------------------------------------------------------------------------
// 2. Export of a model with 10 versions

interface ExportResult {
  readonly versions: number;
  readonly runs: number;
  readonly events: number;
  readonly bytes: number;
  readonly exportMs: readonly number[];
  readonly verifyMs: readonly number[];
  readonly lifecycleSeconds: number;
}

async function driveLifecycle(stack: BenchStack, manifest: ManifestInput): Promise<ModelVersionRef[]> {
  const { api, client, database } = stack;
  const erin = await createApiToken(database.db, 'erin', ['engineer']);
  const ava = await createApiToken(database.db, 'ava', ['approver:risk']);
  const status = (ref: ModelVersionRef) => client.workflow.getHandle(lifecycleWorkflowId(ref)).query(statusQuery);
  const idOf = (ref: ModelVersionRef) => `${ref.name}@${ref.version}`;

  const registered = await api.call('POST', '/models', { token: erin, body: manifest });
  if (registered.status !== 201) throw new Error(`registration answered ${registered.status}: ${JSON.stringify(registered.body)}`);

  const refs: ModelVersionRef[] = [{ name: manifest.name, version: manifest.version }];
  for (;;) {
    const ref = refs.at(-1)!;
    const id = idOf(ref);
    await eventually(`${id} at its approval gate`, async () => ((await status(ref)).gate ? true : undefined), { timeoutMs: 60_000 });
    const approved = await api.call('POST', `/models/${id}/approvals`, { token: ava, body: { decision: 'approve', comment: `version ${refs.length} of ${VERSIONS}` } });
    if (approved.status !== 200) throw new Error(`approval of ${id} answered ${approved.status}: ${JSON.stringify(approved.body)}`);
    // As the audit test does: let the monitor loop continue-as-new once, so each version has several runs.
    await eventually(`${id} to monitor and continue-as-new`, async () => {
      const s = await status(ref);
      return s.stage === 'monitor' && s.run >= 2 ? true : undefined;
    }, { timeoutMs: 60_000 });
    say(`${id} approved by ava, deployed and monitored (${refs.length}/${VERSIONS})`);
    if (refs.length === VERSIONS) break;

    const retrain = await api.call('POST', `/models/${id}/retrain`, { token: erin, body: { reason: `scheduled retrain ${refs.length}` } });
    if (retrain.status !== 202) throw new Error(`retrain of ${id} answered ${retrain.status}: ${JSON.stringify(retrain.body)}`);
    const successor = await eventually(`${id} to start its retrained successor`, async () => (await status(ref)).successor ?? undefined, { timeoutMs: 60_000 });
    refs.push({ name: ref.name, version: successor.version });
  }

  const newest = refs.at(-1)!;
  const retired = await api.call('POST', `/models/${idOf(newest)}/retire`, { token: erin, body: { reason: 'benchmark over' } });
  if (retired.status !== 202) throw new Error(`retirement of ${idOf(newest)} answered ${retired.status}: ${JSON.stringify(retired.body)}`);
  const results = await Promise.all(refs.map((ref) => client.workflow.getHandle(lifecycleWorkflowId(ref)).result() as Promise<LifecycleResult>));
  const endings = results.map((r) => r.endedBy);
  const expected = [...Array<string>(VERSIONS - 1).fill('superseded'), 'retired'];
  if (endings.join() !== expected.join()) throw new Error(`unexpected lifecycle endings: ${endings.join(', ')}`);
  return refs;
}

async function benchExport(workflowBundle: Awaited<ReturnType<typeof bundleWorkflows>>, scratch: string): Promise<ExportResult> {
  // The key as `steward audit keygen` writes it, loaded as the API loads STEWARD_AUDIT_SIGNING_KEY.
  const pair = generateKeyPairSync('ed25519');
  const keyPath = join(scratch, 'signing-key.pem');
  const pubPath = join(scratch, 'signing-key.pub.pem');
  await writeFile(keyPath, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  await writeFile(pubPath, pair.publicKey.export({ format: 'pem', type: 'spki' }));
  const signingKey = loadPrivateKey(await readFile(keyPath, 'utf8'));
  const publicKey = loadPublicKey(await readFile(pubPath, 'utf8'));

  const manifest = await sampleManifest({ name: 'bench-audit' });
  const artifactDir = dirname(fileURLToPath(manifest.artifacts[0]!.uri));
  let stack: BenchStack | undefined;
  try {
    stack = await startBenchStack('bench-audit', { workflowBundle, policy: POLICY });
    const started = performance.now();
    const refs = await driveLifecycle(stack, manifest);
    const lifecycleSeconds = (performance.now() - started) / 1000;
    const root = refs[0]!;
    const client: Client = stack.client;

    const doExport = () => exportBundle(client, root, { exportedBy: 'bench', signingKey });
    const warm = await doExport(); // warm-up: connection, JIT
    checkBundle(warm, refs);
    const exportMs: number[] = [];
    let bundle: EvidenceBundle = warm;
    for (let i = 0; i < EXPORT_RUNS; i++) {
      const t = await timed(doExport);
      exportMs.push(t.ms);
      bundle = t.value;
    }
    checkBundle(bundle, refs);
    const verifyMs: number[] = [];
    for (let i = 0; i < VERIFY_RUNS; i++) {
      const t = await timed(() => verifyBundle(bundle, publicKey));
      if (!t.value.ok) throw new Error(`verifyBundle: ${t.value.problem}`);
      verifyMs.push(t.ms);
    }
    const runs = bundle.lifecycles.flatMap((l) => l.runs);
    return {
      versions: bundle.lifecycles.length,
      runs: runs.length,
      events: runs.reduce((n, r) => n + r.history.events.length, 0),
      bytes: Buffer.byteLength(JSON.stringify(bundle)),
      exportMs,
      verifyMs,
      lifecycleSeconds,
    };
  } finally {
    await stack?.stop();
    await rm(artifactDir, { recursive: true, force: true });
  }
}

/** The bundle holds every version, each linked to the one it was retrained from, and is signed. */
function checkBundle(bundle: EvidenceBundle, refs: readonly ModelVersionRef[]): void {
  const got = bundle.lifecycles.map((l) => [l.workflowId, l.parentWorkflowId]);
  const want = refs.map((ref, i) => [lifecycleWorkflowId(ref), i === 0 ? null : lifecycleWorkflowId(refs[i - 1]!)]);
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`bundle lineage is not the expected chain: ${JSON.stringify(got)}`);
  if (!bundle.signature) throw new Error('bundle is not signed');
}

// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), 'steward-bench-'));
  try {
    say('bundling workflows (once, not timed)');
    const bundleTime = await timed(() => bundleWorkflows());
    const replay = await benchReplay(bundleTime.value);
    if (replay.failures.length) throw new Error(`replay failures:\n${replay.failures.join('\n')}`);
    const exp = await benchExport(bundleTime.value, scratch);

    const lines = [
      '',
      `Steward audit benchmark: ${availableParallelism()} CPU cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
      `(workflow bundle built once in ${ms(bundleTime.ms)} ms, outside the timings)`,
      '',
      `replay: ${int(replay.histories)} histories, ${int(replay.events)} events in ${replay.seconds.toFixed(2)} s → ${int(replay.events / replay.seconds)} events/s, ${int(replay.histories / replay.seconds)} histories/s`,
      `        source: the ${replay.fixtures} real lifecycle histories recorded from the dev server in test/fixtures/histories (none skipped),`,
      `        replayed cyclically to ${int(replay.histories)} in one auditReplay call (Worker.runReplayHistories), each copy under its own`,
      `        workflow id; all ${int(replay.histories)} replayed OK`,
      `export: ${exp.versions} versions, ${exp.runs} runs, ${int(exp.events)} events, ${int(exp.bytes)} bytes: median ${ms(median(exp.exportMs))} ms (verify ${ms(median(exp.verifyMs))} ms)`,
      `        exportBundle of the root version, Ed25519-signed, from a real Temporal dev server (real PostgreSQL catalog);`,
      `        median of ${EXPORT_RUNS} after a warm-up [${exp.exportMs.map(ms).join(', ')} ms]; verifyBundle median of ${VERIFY_RUNS} [${exp.verifyMs.map(ms).join(', ')} ms];`,
      `        bytes = the bundle as JSON, as the API serves it; the ${exp.versions}-version lifecycle itself took ${exp.lifecycleSeconds.toFixed(1)} s to run`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (err) {
  process.stderr.write(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
}
