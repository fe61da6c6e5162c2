import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../activities/datasets.js';
import { monitoringActivities } from '../../activities/monitoring.js';
import { scanArtifact } from '../../activities/scanning.js';
import type { ObjectStoreSettings } from '../../activities/object-store.js';
import { activityReadControl, datasetReads, openUri, type ReadSettings } from '../../activities/read-uri.js';
import type { DriftColumnSpec, DriftRequest, DriftSummary } from '../../core/drift.js';
import type { ReportRef } from '../../core/reports.js';
import type { BucketGrant } from '../../core/uri-policy.js';
import { ContentStore } from '../../evidence/content-store.js';
import { creditRows } from '../harness/datasets.js';
import { startGcsEmulator, startMoto, type RunningStore } from '../harness/object-stores.js';
import { startStreamFaultProxy, type StreamFaultProxy } from '../harness/stream-fault-proxy.js';
import { ensurePythonReference } from '../harness/python-reference.js';
import { TEST_ROOT, testReadSettings } from '../harness/reading.js';

const run = promisify(execFile);

/**
 * s3:// and gs:// reads against real servers (moto's S3 server, gcp-storage-emulator) through the SDKs Steward
 * uses in production, inside Temporal's activity context: the same drift report as from file://, the bucket
 * allow-list, the size limit from metadata, a missing object, cancellation and byte-progress heartbeats.
 */

const COLUMNS: DriftColumnSpec[] = [
  { name: 'income', kind: 'numerical' },
  { name: 'debt_to_income', kind: 'numerical' },
  { name: 'age_band', kind: 'categorical' },
];
const BIG = 48 * 1024 ** 2;
const GRANTS: BucketGrant[] = [
  { scheme: 's3', bucket: 'lake', prefix: 'credit' },
  { scheme: 'gs', bucket: 'lake', prefix: 'credit' },
];

const toCsv = (rows: ReturnType<typeof creditRows>) => ['income,debt_to_income,age_band', ...rows.map((r) => `${r.income},${r.debt_to_income},${r.age_band}`)].join('\n') + '\n';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

const PYARROW = `
import sys
import pyarrow.csv as csv, pyarrow.parquet as pq
pq.write_table(csv.read_csv(sys.argv[1]), sys.argv[2], row_group_size=500)
`;

let moto: RunningStore;
let gcs: RunningStore;
let dir: string;
let stores: ObjectStoreSettings;
/** name → bytes, kept under credit/ in both stores and in `dir`. */
const files = new Map<string, Buffer>();

function settings(overrides: Parameters<typeof testReadSettings>[0] = {}): ReadSettings {
  return { ...testReadSettings({ schemes: ['file', 's3', 'gs'], buckets: GRANTS, ...overrides }), objectStores: stores };
}

const uriOf = (scheme: 'file' | 's3' | 'gs', name: string) => (scheme === 'file' ? pathToFileURL(join(dir, name)).href : `${scheme}://lake/credit/${name}`);

/** An activity environment with a start-to-close long enough for the reads, its heartbeats recorded. */
function activityEnvironment() {
  const env = new MockActivityEnvironment({ startToCloseTimeoutMs: 60_000 });
  const beats: { bytesRead: number }[] = [];
  env.on('heartbeat', (d: { bytesRead: number }) => beats.push(d));
  return { env, beats };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as Error;
}

beforeAll(async () => {
  [moto, gcs] = await Promise.all([startMoto(), startGcsEmulator()]);
  // The standard AWS chain's first link (the environment) supplies moto's credentials, as it would on a server.
  process.env.AWS_ACCESS_KEY_ID = 'steward-test';
  process.env.AWS_SECRET_ACCESS_KEY = 'steward-test';
  stores = { s3: { endpoint: moto.url, region: 'us-east-1', forcePathStyle: true }, gcs: { endpoint: gcs.url, endpointAuth: false } };

  dir = await mkdtemp(join(TEST_ROOT, 'steward-object-stores-'));
  const { python } = await ensurePythonReference();
  files.set('reference.csv', Buffer.from(toCsv(creditRows({ rows: 3000, seed: 11 }))));
  files.set('current.csv', Buffer.from(toCsv(creditRows({ rows: 1500, seed: 12, incomeShift: 0.4, ageBands: [0.4, 0.3, 0.2, 0.1] }))));
  for (const name of ['reference.csv', 'current.csv']) {
    await writeFile(join(dir, name), files.get(name)!);
    const parquet = name.replace('.csv', '.parquet');
    await run(python, ['-c', PYARROW, join(dir, name), join(dir, parquet)]);
    files.set(parquet, await readFile(join(dir, parquet)));
  }
  files.set('big.bin', Buffer.alloc(BIG, 7));

  const s3 = new S3Client({ endpoint: moto.url, region: 'us-east-1', forcePathStyle: true });
  const storage = new Storage({ apiEndpoint: gcs.url, projectId: 'steward-test' });
  for (const bucket of ['lake', 'other']) {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await storage.createBucket(bucket);
  }
  for (const [name, bytes] of files) {
    await s3.send(new PutObjectCommand({ Bucket: 'lake', Key: `credit/${name}`, Body: bytes }));
    await storage.bucket('lake').file(`credit/${name}`).save(bytes, { resumable: false });
  }
  // Objects that exist but lie outside the allow-list: in another bucket, beside the prefix.
  await s3.send(new PutObjectCommand({ Bucket: 'other', Key: 'credit/reference.csv', Body: files.get('reference.csv') }));
  await s3.send(new PutObjectCommand({ Bucket: 'lake', Key: 'credit-archive/reference.csv', Body: files.get('reference.csv') }));
  await storage.bucket('other').file('credit/reference.csv').save(files.get('reference.csv')!, { resumable: false });
  s3.destroy();
}, 600_000);

afterAll(async () => {
  await Promise.all([moto?.stop(), gcs?.stop()]);
});

describe('drift from object stores', () => {
  it.each(['csv', 'parquet'])('a drift check of %s from s3:// and gs:// gives the same report as from file://, heartbeating the bytes read', async (format) => {
    const store = new ContentStore(await mkdtemp(join(TEST_ROOT, 'steward-object-reports-')));
    const results: { summary: DriftSummary; stored: unknown }[] = [];
    for (const scheme of ['file', 's3', 'gs'] as const) {
      const request: DriftRequest = {
        modelVersionId: 'credit@1',
        window: '2026-01-01T00',
        reference: { uri: uriOf(scheme, `reference.${format}`), sha256: sha256(files.get(`reference.${format}`)!) },
        sample: { uri: uriOf(scheme, `current.${format}`), sha256: sha256(files.get(`current.${format}`)!) },
        columns: COLUMNS,
        policy: { stattest: 'auto', columnShare: 0.5 },
      };
      // Activities of their own per scheme: a prepared reference is cached by digest, and must be read anew.
      const activities = monitoringActivities(store, settings());
      const { env, beats } = activityEnvironment();
      const { summary, report } = (await env.run(activities.detectDrift, request)) as { summary: DriftSummary; report: ReportRef };
      const stored = (await store.get(report.digest)) as Record<string, unknown>;
      results.push({ summary, stored: { ...stored, reference: { ...(stored.reference as object), uri: null }, sample: { ...(stored.sample as object), uri: null } } });
      // Both files' bytes were reported as they passed (the heartbeat total is cumulative over both reads).
      const total = files.get(`reference.${format}`)!.length + files.get(`current.${format}`)!.length;
      expect(beats.length).toBeGreaterThan(0);
      expect(beats.at(-1)!.bytesRead).toBe(total);
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
    // Not vacuous: income and the age bands drifted, so the report has something to agree on.
    expect(results[0]!.summary.drifted).toBe(true);
    expect(results[0]!.summary.driftedColumns).toEqual(expect.arrayContaining(['income', 'age_band']));
  });

  it('a CSV and a Parquet file from s3:// load into the same columns', async () => {
    const reads = datasetReads(settings());
    const csv = await loadDataset(uriOf('s3', 'reference.csv'), COLUMNS, undefined, reads);
    const parquet = await loadDataset(uriOf('s3', 'reference.parquet'), COLUMNS, undefined, reads);
    expect(csv.rows).toBe(3000);
    expect(parquet.rows).toBe(3000);
    expect(parquet.columns).toEqual(csv.columns);
  });
});

describe('artifacts from object stores', () => {
  it.each(['s3', 'gs'] as const)('%s: a scan records the digest of the bytes read, and a wrong declared digest is a finding', async (scheme) => {
    const reads = { policy: settings().policy, maxBytes: 64 * 1024 ** 2, idleTimeoutMs: 10_000, objectStores: stores };
    const digest = sha256(files.get('reference.parquet')!);
    const right = await scanArtifact({ uri: uriOf(scheme, 'reference.parquet'), sha256: digest }, reads);
    expect(right.sha256).toBe(digest);
    expect(right.findings.filter((f) => f.code === 'digest-mismatch')).toEqual([]);
    const wrong = await scanArtifact({ uri: uriOf(scheme, 'reference.parquet'), sha256: 'b'.repeat(64) }, reads);
    expect(wrong.sha256).toBe(digest);
    expect(wrong.findings).toContainEqual(expect.objectContaining({ code: 'digest-mismatch', severity: 'critical' }));
  });
});

describe('the bucket allow-list', () => {
  it.each([
    ['s3://other/credit/reference.csv', 'STEWARD_READ_BUCKETS', 'read-buckets'],
    ['gs://other/credit/reference.csv', 'STEWARD_READ_BUCKETS', 'read-buckets'],
    // A prefix matches whole segments: credit does not cover credit-archive.
    ['s3://lake/credit-archive/reference.csv', 'STEWARD_READ_BUCKETS', 'read-buckets'],
    ['s3://lake/credit/../credit-archive/reference.csv', 'STEWARD_READ_BUCKETS', 'read-buckets'],
  ])('refuses %s, which exists, naming %s, and reads nothing', async (uri, setting, rule) => {
    const { env, beats } = activityEnvironment();
    const reads = settings();
    const err = await failure(env.run(() => loadDataset(uri, COLUMNS, undefined, { ...datasetReads(reads), ...activityReadControl() })));
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('UriNotAllowed');
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect(err.message).toContain(setting);
    expect(err.message).toContain(`[rule ${rule}]`);
    expect(beats).toEqual([]);
  });

  it('refuses an object store that STEWARD_READ_SCHEMES does not enable, naming the setting', async () => {
    const reads = settings({ schemes: ['file', 's3'], buckets: GRANTS.filter((g) => g.scheme === 's3') });
    const err = await failure(openUri(uriOf('gs', 'reference.csv'), datasetReads(reads)));
    expect((err as ApplicationFailure).type).toBe('UriNotAllowed');
    expect(err.message).toContain('STEWARD_READ_SCHEMES');
    // The same object is read once the scheme and its bucket are allowed.
    const chunks: Buffer[] = [];
    for await (const chunk of await openUri(uriOf('gs', 'reference.csv'), datasetReads(settings()))) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(files.get('reference.csv')!)).toBe(true);
  });
});

describe('size limits, missing objects and cancellation', () => {
  it.each(['s3', 'gs'] as const)('%s: an object over the size limit fails with ArtifactTooLarge from its metadata, before a byte is read', async (scheme) => {
    const { env, beats } = activityEnvironment();
    const reads = settings({ maxDatasetBytes: 1024 ** 2 });
    const err = await failure(env.run(async () => openUri(uriOf(scheme, 'big.bin'), { ...datasetReads(reads), ...activityReadControl() })));
    expect((err as ApplicationFailure).type).toBe('ArtifactTooLarge');
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    // The size in the message comes from the object's metadata: nothing was streamed to learn it.
    expect(err.message).toContain(`is ${BIG} bytes, more than the limit of ${1024 ** 2} bytes`);
    expect(beats).toEqual([]);
  });

  it.each(['s3', 'gs'] as const)('%s: a missing object is a final ObjectNotFound naming bucket and key, and the drift check fails for good', async (scheme) => {
    const reads = settings();
    const err = await failure(openUri(uriOf(scheme, 'missing.csv'), datasetReads(reads)));
    expect((err as ApplicationFailure).type).toBe('ObjectNotFound');
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect(err.message).toContain(`${scheme}://lake/credit/missing.csv: no object credit/missing.csv in bucket lake (or no such bucket)`);

    const activities = monitoringActivities(new ContentStore(await mkdtemp(join(TEST_ROOT, 'steward-object-reports-'))), reads);
    const request: DriftRequest = {
      modelVersionId: 'credit@1',
      window: '2026-01-01T00',
      reference: { uri: uriOf(scheme, 'reference.csv') },
      sample: { uri: uriOf(scheme, 'missing.csv'), sha256: 'a'.repeat(64) },
      columns: COLUMNS,
      policy: { stattest: 'auto', columnShare: 0.5 },
    };
    const drift = await failure(activityEnvironment().env.run(activities.detectDrift, request));
    expect((drift as ApplicationFailure).type).toBe('ObjectNotFound');
    expect((drift as ApplicationFailure).nonRetryable).toBe(true);
  });

  it('a bucket in the allow-list that does not exist is a final ObjectNotFound', async () => {
    const reads = settings({ buckets: [...GRANTS, { scheme: 's3', bucket: 'absent-bucket', prefix: '' }] });
    const err = await failure(openUri('s3://absent-bucket/x.csv', datasetReads(reads)));
    expect((err as ApplicationFailure).type).toBe('ObjectNotFound');
    expect(err.message).toContain('s3://absent-bucket/x.csv: no object x.csv in bucket absent-bucket (or no such bucket)');
  });

  it.each(['s3', 'gs'] as const)('%s: cancelling the activity stops the read partway and fails it as cancelled', async (scheme) => {
    const { env, beats } = activityEnvironment();
    let read = 0;
    env.once('heartbeat', () => env.cancel('CANCELLED'));
    const err = await failure(
      env.run(async () => {
        for await (const chunk of await openUri(uriOf(scheme, 'big.bin'), { ...datasetReads(settings()), ...activityReadControl() })) read += (chunk as Buffer).length;
      }),
    );
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(beats.length).toBeGreaterThan(0);
    // Stopped long before the end: a few chunks in flight at most.
    expect(read).toBeLessThan(BIG / 2);
    expect(beats.at(-1)!.bytesRead).toBeLessThan(BIG / 2);
  });

  it.each(['s3', 'gs'] as const)('%s: a whole read heartbeats every byte, and the stream is exactly the object', async (scheme) => {
    const { env, beats } = activityEnvironment();
    const digest = await env.run(async () => {
      const hash = createHash('sha256');
      for await (const chunk of await openUri(uriOf(scheme, 'big.bin'), { ...datasetReads(settings()), ...activityReadControl() })) hash.update(chunk as Buffer);
      return hash.digest('hex');
    });
    expect(digest).toBe(sha256(files.get('big.bin')!));
    expect(beats.at(-1)!.bytesRead).toBe(BIG);
  });
});

describe('faults between the store and the reader', () => {
  const proxies = new Map<'s3' | 'gs', StreamFaultProxy>();
  beforeAll(async () => {
    proxies.set('s3', await startStreamFaultProxy(moto.url));
    proxies.set('gs', await startStreamFaultProxy(gcs.url));
  });
  afterAll(async () => {
    for (const p of proxies.values()) await p.close();
  });

  /** The read settings with `scheme`'s endpoint behind its fault proxy. */
  function throughProxy(scheme: 's3' | 'gs', overrides: Parameters<typeof testReadSettings>[0] = {}): ReadSettings {
    const endpoint = proxies.get(scheme)!.url;
    const objectStores = scheme === 's3' ? { ...stores, s3: { ...stores.s3, endpoint } } : { ...stores, gcs: { ...stores.gcs, endpoint } };
    return { ...settings(overrides), objectStores };
  }

  async function readAll(uri: string, reads: ReadSettings): Promise<number> {
    let read = 0;
    for await (const chunk of await openUri(uri, datasetReads(reads))) read += (chunk as Buffer).length;
    return read;
  }

  it.each(['s3', 'gs'] as const)('%s: a body that stops arriving fails after the idle timeout', async (scheme) => {
    const proxy = proxies.get(scheme)!;
    proxy.faults = { stallAfterBytes: 256 * 1024 };
    const started = Date.now();
    const err = await failure(readAll(uriOf(scheme, 'big.bin'), throughProxy(scheme, { idleTimeoutMs: 500 })));
    expect(err.message).toContain('nothing received for 0.5 s');
    expect(Date.now() - started).toBeLessThan(10_000);
    proxy.faults = {};
  });

  it('s3: an object larger than its metadata said fails with ArtifactTooLarge at the limit, while streaming', async () => {
    const proxy = proxies.get('s3')!;
    proxy.faults = { headContentLength: 1000 };
    const before = proxy.forwarded();
    const err = await failure(readAll(uriOf('s3', 'big.bin'), throughProxy('s3', { maxDatasetBytes: 1024 ** 2 })));
    expect((err as ApplicationFailure).type).toBe('ArtifactTooLarge');
    expect(err.message).toContain(`is more than the limit of ${1024 ** 2} bytes`);
    // The connection was dropped near the limit rather than the object drained.
    await expect.poll(() => proxy.forwarded() - before).toBeGreaterThan(1024 ** 2);
    expect(proxy.forwarded() - before).toBeLessThan(BIG / 2);
    proxy.faults = {};
  });
});
