import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../api/tokens.js';
import { lifecycleWorkflowId } from '../../core/model-id.js';
import { defaultPolicy } from '../../core/policy.js';
import { publishEvent } from '../../events/publisher.js';
import type { ScanReport } from '../../activities/scanning.js';
import type { LifecycleResult } from '../../workflows/lifecycle.js';
import { stageTransitionsIn } from '../harness/history.js';
import { eventually, startTestStack, type TestStack } from '../harness/index.js';
import { sampleManifest } from '../harness/manifests.js';
import { TEST_ROOT, testReadSettings } from '../harness/reading.js';

/** A local HTTP server that records every request and every closed connection, per path. */
async function startServer(): Promise<{ server: Server; port: number; requests: string[]; closed: string[] }> {
  const requests: string[] = [];
  const closed: string[] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push(path);
    res.on('close', () => closed.push(path));
    if (path === '/endless') {
      const chunk = Buffer.alloc(64 * 1024);
      const pump = () => {
        while (res.write(chunk));
      };
      res.on('drain', pump);
      res.writeHead(200);
      pump();
    } else if (path === '/trickle') {
      // One byte a second, for ever.
      res.writeHead(200);
      const timer = setInterval(() => res.write('x'), 1000);
      res.write('x');
      res.on('close', () => clearInterval(timer));
    } else {
      res.writeHead(200).end('bytes');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, requests, closed };
}

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/** The scan transition of a finished lifecycle and its full report from the evidence store. */
async function scanOf(stack: TestStack, workflowId: string): Promise<{ result: LifecycleResult; summary: unknown; report: ScanReport & { kind: string } }> {
  const handle = stack.client.workflow.getHandle(workflowId);
  const result: LifecycleResult = await handle.result();
  const scan = stageTransitionsIn(await handle.fetchHistory()).find((t) => t.stage === 'scan');
  expect(scan?.report?.digest).toBeDefined();
  const report = (await stack.database.evidence.get(scan!.report!.digest)) as ScanReport & { kind: string };
  return { result, summary: scan!.report!.summary, report };
}

/** The findings about artifacts (manifest-level ones, such as a missing licence, name no artifact). */
const artifactFindings = (report: ScanReport) => report.findings.filter((f) => f.artifactUri !== '');

describe('the read allow-list on the real stack (no private networks allowed)', () => {
  let stack: TestStack;
  let engineer: string;
  let admin: string;
  let http: Awaited<ReturnType<typeof startServer>>;

  beforeAll(async () => {
    stack = await startTestStack('uris', { policy: defaultPolicy });
    engineer = await createApiToken(stack.database.db, 'erin', ['engineer']);
    admin = await createApiToken(stack.database.db, 'root', ['admin']);
    http = await startServer();
  });

  afterAll(async () => {
    await stack?.stop();
    http?.server.closeAllConnections();
    http?.server.close();
  });

  it.each([
    ['an artifact at file:///etc/passwd', { artifacts: [{ uri: 'file:///etc/passwd', sha256: 'a'.repeat(64) }] }, 'body.artifacts.0.uri', 'read-roots'],
    ['an artifact escaping the roots with ..', { artifacts: [{ uri: `file://${TEST_ROOT}/../../etc/shadow`, sha256: 'a'.repeat(64) }] }, 'body.artifacts.0.uri', 'read-roots'],
    ['a reference dataset at /proc/self/environ', { referenceDataset: { uri: 'file:///proc/self/environ' } }, 'body.referenceDataset.uri', 'read-roots'],
    ['an artifact on a loopback address', { artifacts: [{ uri: 'http://127.0.0.1:9/model.bin', sha256: 'a'.repeat(64) }] }, 'body.artifacts.0.uri', 'private-address'],
    ['an artifact on an IPv4-mapped IPv6 loopback', { artifacts: [{ uri: 'http://[::ffff:127.0.0.1]/m', sha256: 'a'.repeat(64) }] }, 'body.artifacts.0.uri', 'private-address'],
    ['an artifact on the cloud metadata address', { artifacts: [{ uri: 'http://169.254.169.254/latest/meta-data', sha256: 'a'.repeat(64) }] }, 'body.artifacts.0.uri', 'private-address'],
  ])('refuses %s at registration with 400 naming the field, and writes nothing', async (_, fields, field, rule) => {
    const manifest = { ...(await sampleManifest({ name: 'refused' })), ...fields };
    const res = await stack.api.call('POST', '/models', { token: engineer, body: manifest });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('uri_not_allowed');
    expect(res.body.error.issues).toEqual([{ field, problem: expect.stringContaining(`[rule ${rule}]`) }]);
    const id = lifecycleWorkflowId({ name: manifest.name, version: manifest.version });
    await expect(stack.client.workflow.getHandle(id).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    const rows = await stack.database.db.selectFrom('model_versions').select('id').where('name', '=', manifest.name).execute();
    expect(rows).toEqual([]);
  });

  it('refuses an observation sample outside the roots with 400 naming body.sample.uri', async () => {
    const res = await stack.api.call('POST', '/models/anything@1.0.0/observations', {
      token: engineer,
      body: { windowStart: '2026-01-01T00:00:00Z', windowEnd: '2026-01-01T01:00:00Z', requests: 1, errors: 0, sample: { uri: 'file:///etc/passwd.csv', sha256: 'a'.repeat(64) } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.issues).toEqual([{ field: 'body.sample.uri', problem: expect.stringContaining('[rule read-roots]') }]);
  });

  it('refuses at the scan what passed registration (a name resolving to loopback, a symlink out of the roots), reading nothing and recording no digest', async () => {
    const dir = await mkdtemp(join(TEST_ROOT, 'steward-escape-'));
    const link = join(dir, 'model.onnx');
    await symlink('/etc/passwd', link);
    const passwd = await readFile('/etc/passwd');
    const artifacts = [
      // The attacker declares the digest they want confirmed.
      { uri: pathToFileURL(link).href, sha256: sha256(passwd) },
      { uri: `http://localhost:${http.port}/internal-service`, sha256: sha256('bytes') },
    ];
    const manifest = await sampleManifest({ name: 'escape', artifacts });
    const res = await stack.api.call('POST', '/models', { token: engineer, body: manifest });
    expect(res.status).toBe(201);

    const { result, report } = await scanOf(stack, res.body.workflowId);
    expect(result.endedBy).toBe('failed-scan');
    expect(report.digests).toEqual({});
    // Findings about the artifacts; the sample manifest declares no licence, which is a finding of its own.
    expect(artifactFindings(report).map((f) => [f.artifactUri, f.code, f.severity])).toEqual([
      [artifacts[0]!.uri, 'uri-not-allowed', 'critical'],
      [artifacts[1]!.uri, 'uri-not-allowed', 'critical'],
    ]);
    expect(artifactFindings(report)[0]!.message).toContain('[rule read-roots]');
    expect(artifactFindings(report)[1]!.message).toMatch(/host localhost resolves to .*loopback address.*\[rule private-address\]/);
    expect(JSON.stringify(report)).not.toMatch(/sha256 is/);
    expect(http.requests).not.toContain('/internal-service');
  });

  it('refuses webhook URLs to loopback or private addresses at POST /webhooks, and again at delivery', async () => {
    for (const url of [`http://127.0.0.1:${http.port}/hook`, `http://localhost:${http.port}/hook`, 'http://[::1]/hook', 'http://10.0.0.7/hook', 'http://169.254.169.254/']) {
      const res = await stack.api.call('POST', '/webhooks', { token: admin, body: { url, secret: 's'.repeat(16) } });
      expect(res.status, url).toBe(400);
      expect(res.body.error.issues, url).toEqual([{ field: 'body.url', problem: expect.stringContaining('[rule private-address]') }]);
    }
    expect(await stack.database.db.selectFrom('webhook_subscriptions').select('id').execute()).toEqual([]);

    // A subscription that got in some other way (an older release, a DNS answer that changed) is refused at delivery.
    await stack.database.db
      .insertInto('webhook_subscriptions')
      .values({ id: '00000000-0000-4000-8000-000000000001', url: `http://localhost:${http.port}/hook`, secret: 's'.repeat(16), event_types: '[]', created_by: 'root', disabled_at: null })
      .execute();
    await publishEvent(stack.database.db, stack.client, stack.taskQueue, {
      id: 'evt-uri-allow-list',
      type: 'stage.transition',
      modelVersionId: 'x@1.0.0',
      workflowId: 'model-version:x@1.0.0',
      at: new Date().toISOString(),
      data: {},
    });
    const delivery = await eventually('the delivery marked failed', async () => {
      const row = await stack.database.db.selectFrom('webhook_deliveries').selectAll().where('event_id', '=', 'evt-uri-allow-list').executeTakeFirst();
      return row?.status === 'failed' ? row : undefined;
    });
    expect(delivery.last_error).toMatch(/localhost.* is not allowed: host localhost resolves to .* \[rule private-address\]/);
    expect(http.requests).not.toContain('/hook');
  });
});

describe('bounded reads on the real stack (loopback allowed, 1 MiB limit)', () => {
  let stack: TestStack;
  let engineer: string;
  let http: Awaited<ReturnType<typeof startServer>>;

  beforeAll(async () => {
    stack = await startTestStack('bounded-reads', {
      policy: defaultPolicy,
      reading: testReadSettings({ privateNetworks: ['127.0.0.1/32'], maxArtifactBytes: 1024 ** 2 }),
    });
    engineer = await createApiToken(stack.database.db, 'erin', ['engineer']);
    http = await startServer();
  });

  afterAll(async () => {
    await stack?.stop();
    http?.server.closeAllConnections();
    http?.server.close();
  });

  it('ends the lifecycle at the scan, at once, for /dev/zero, a FIFO, a file over the limit and an endless body', async () => {
    const dir = await mkdtemp(join(TEST_ROOT, 'steward-endless-'));
    await symlink('/dev/zero', join(dir, 'zero.bin'));
    execFileSync('mkfifo', [join(dir, 'fifo.bin')]);
    await writeFile(join(dir, 'big.bin'), Buffer.alloc(1024 ** 2 + 1));
    const artifacts = [
      { uri: pathToFileURL(join(dir, 'zero.bin')).href, sha256: 'a'.repeat(64) },
      { uri: pathToFileURL(join(dir, 'fifo.bin')).href, sha256: 'a'.repeat(64) },
      { uri: pathToFileURL(join(dir, 'big.bin')).href, sha256: 'a'.repeat(64) },
      { uri: `http://127.0.0.1:${http.port}/endless`, sha256: 'a'.repeat(64) },
    ];
    const started = Date.now();
    const res = await stack.api.call('POST', '/models', { token: engineer, body: await sampleManifest({ name: 'endless', artifacts }) });
    expect(res.status).toBe(201);
    const { result, report } = await scanOf(stack, res.body.workflowId);
    expect(result.endedBy).toBe('failed-scan');
    // Well inside the 15 s activity timeout: nothing was read to the end, nothing was retried.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(artifactFindings(report).map((f) => [f.code, f.message.match(/\[rule [a-z-]+\]/)?.[0] ?? ''])).toEqual([
      ['uri-not-allowed', '[rule read-roots]'],
      ['uri-not-allowed', '[rule regular-file]'],
      ['artifact-too-large', ''],
      ['artifact-too-large', ''],
    ]);
    expect(report.digests).toEqual({});
    expect(http.requests.filter((p) => p === '/endless')).toHaveLength(1);
    await expect.poll(() => http.closed.includes('/endless')).toBe(true);
  });

  it('stops reading a trickling artifact when the lifecycle is retired during its scan', async () => {
    const artifacts = [{ uri: `http://127.0.0.1:${http.port}/trickle`, sha256: 'a'.repeat(64) }];
    const manifest = await sampleManifest({ name: 'trickle', artifacts });
    const res = await stack.api.call('POST', '/models', { token: engineer, body: manifest });
    expect(res.status).toBe(201);
    await eventually('the scan to start reading', async () => (http.requests.includes('/trickle') ? true : undefined));

    const retire = await stack.api.call('POST', `/models/${manifest.name}@1.0.0/retire`, { token: engineer, body: { reason: 'never mind' } });
    expect(retire.status).toBe(202);
    const retiredAt = Date.now();
    await eventually('the connection to be dropped', async () => (http.closed.includes('/trickle') ? true : undefined), { timeoutMs: 10_000 });
    expect(Date.now() - retiredAt).toBeLessThan(8000);
    const result: LifecycleResult = await stack.client.workflow.getHandle(res.body.workflowId).result();
    expect(result.endedBy).toBe('retired');
    // No retry opened another connection.
    expect(http.requests.filter((p) => p === '/trickle')).toHaveLength(1);
  });
});
