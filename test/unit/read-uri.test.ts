import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetProblem, loadDataset } from '../../activities/datasets.js';
import { openUri, type ReadOptions } from '../../activities/read-uri.js';
import { scanArtifact } from '../../activities/scanning.js';
import { TEST_ROOT, testReadOptions } from '../harness/reading.js';

/** Reads the whole stream; answers the bytes or the failure. */
async function readAll(uri: string, options: ReadOptions): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await openUri(uri, options)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

const loopback = testReadOptions({ policy: { ...testReadOptions().policy, privateNetworks: ['127.0.0.1/32', '::1/128'] } });

describe('reading files under the allow-list', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(TEST_ROOT, 'steward-read-'));
  });
  const uri = (name: string) => pathToFileURL(join(dir, name)).href;

  it('reads a regular file inside a root', async () => {
    await writeFile(join(dir, 'ok.bin'), 'model bytes');
    expect((await readAll(uri('ok.bin'), testReadOptions())).toString()).toBe('model bytes');
  });

  it('follows a symlink inside the roots, and refuses one that leads out of them, without reading it', async () => {
    await writeFile(join(dir, 'target.bin'), 'inside');
    await symlink(join(dir, 'target.bin'), join(dir, 'inner-link.bin'));
    expect((await readAll(uri('inner-link.bin'), testReadOptions())).toString()).toBe('inside');

    await symlink('/etc/passwd', join(dir, 'passwd.bin'));
    const refused = await failure(readAll(uri('passwd.bin'), testReadOptions()));
    expect(refused.type).toBe('UriNotAllowed');
    expect(refused.nonRetryable).toBe(true);
    expect(refused.message).toContain(uri('passwd.bin'));
    expect(refused.message).toContain('[rule read-roots]');

    // The scan turns the refusal into a finding and records no digest of anything.
    const scan = await scanArtifact({ uri: uri('passwd.bin'), sha256: 'a'.repeat(64) }, testReadOptions());
    expect(scan.sha256).toBeNull();
    expect(scan.findings).toMatchObject([{ code: 'uri-not-allowed', severity: 'critical' }]);
  });

  it('refuses /dev/zero and a FIFO at once, even under a root that contains them: only regular files are read', async () => {
    const started = Date.now();
    const zero = await failure(readAll('file:///dev/zero', testReadOptions({ policy: { ...testReadOptions().policy, roots: ['/dev'] } })));
    expect(zero.type).toBe('UriNotAllowed');
    expect(zero.message).toContain('[rule regular-file]');
    // Outside the roots it is refused before anything is opened.
    expect((await failure(readAll('file:///dev/zero', testReadOptions()))).message).toContain('[rule read-roots]');

    execFileSync('mkfifo', [join(dir, 'pipe.csv')]);
    const fifo = await failure(readAll(uri('pipe.csv'), testReadOptions()));
    expect(fifo.message).toContain('[rule regular-file]');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses a file over the size limit before reading it', async () => {
    await writeFile(join(dir, 'big.bin'), Buffer.alloc(1000));
    const big = await failure(readAll(uri('big.bin'), testReadOptions({ maxBytes: 999 })));
    expect(big.type).toBe('ArtifactTooLarge');
    expect(big.nonRetryable).toBe(true);
    expect(big.message).toContain('1000 bytes, more than the limit of 999 bytes');
    expect((await readAll(uri('big.bin'), testReadOptions({ maxBytes: 1000 }))).length).toBe(1000);
  });

  it('keeps refusals and size failures as they are when loading a dataset, not as data problems', async () => {
    const refused = loadDataset('file:///etc/passwd.csv', [{ name: 'a', kind: 'numerical' }], undefined, testReadOptions());
    await expect(refused).rejects.toMatchObject({ type: 'UriNotAllowed' });
    await expect(refused).rejects.not.toBeInstanceOf(DatasetProblem);
    await writeFile(join(dir, 'rows.csv'), `a\n${'1\n'.repeat(1000)}`);
    await expect(loadDataset(uri('rows.csv'), [{ name: 'a', kind: 'numerical' }], undefined, testReadOptions({ maxBytes: 100 }))).rejects.toMatchObject({
      type: 'ArtifactTooLarge',
    });
  });
});

describe('reading over http(s) under the allow-list', () => {
  let server: Server;
  let base: string;
  const requests: string[] = [];
  const closed: string[] = [];
  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
    '/model.bin': (_req, res) => res.end('remote bytes'),
    '/to-private': (_req, res) => res.writeHead(302, { location: 'http://10.0.0.1/model.bin' }).end(),
    '/to-file': (_req, res) => res.writeHead(302, { location: 'file:///etc/passwd' }).end(),
    '/to-model': (_req, res) => res.writeHead(301, { location: '/model.bin' }).end(),
    '/declared-huge': (_req, res) => res.writeHead(200, { 'content-length': String(10 ** 12) }).write('x'),
    '/endless': (_req, res) => {
      const chunk = Buffer.alloc(64 * 1024);
      const pump = () => {
        while (res.write(chunk));
      };
      res.on('drain', pump);
      res.writeHead(200);
      pump();
    },
    '/silent': (_req, res) => res.writeHead(200).flushHeaders(),
    '/trickle': (_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write('x'), 100);
      res.on('close', () => clearInterval(timer));
    },
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? '/';
      requests.push(path);
      res.on('close', () => closed.push(path));
      (routes[path] ?? ((_q, r) => r.writeHead(404).end()))(req, res);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('refuses loopback, by IP literal and by a name that resolves to it, without sending a request', async () => {
    const before = requests.length;
    const literal = await failure(readAll(`http://${base}/model.bin`, testReadOptions()));
    expect(literal.type).toBe('UriNotAllowed');
    expect(literal.message).toContain('[rule private-address]');
    const port = base.split(':')[1];
    const named = await failure(readAll(`http://localhost:${port}/model.bin`, testReadOptions()));
    expect(named.type).toBe('UriNotAllowed');
    expect(named.message).toMatch(/host localhost resolves to .* is a loopback address/);
    expect(requests.length).toBe(before);
  });

  it('reads from an allowed address, following redirects only to allowed places', async () => {
    expect((await readAll(`http://${base}/model.bin`, loopback)).toString()).toBe('remote bytes');
    expect((await readAll(`http://${base}/to-model`, loopback)).toString()).toBe('remote bytes');
    const toPrivate = await failure(readAll(`http://${base}/to-private`, loopback));
    expect(toPrivate.message).toContain('redirects to http://10.0.0.1/model.bin');
    expect(toPrivate.message).toContain('[rule redirect]');
    const toFile = await failure(readAll(`http://${base}/to-file`, loopback));
    expect(toFile.message).toContain('redirects to file:///etc/passwd');
  });

  it('stops a body over the limit, declared or streamed, and closes the connection', async () => {
    const declared = await failure(readAll(`http://${base}/declared-huge`, loopback));
    expect(declared.type).toBe('ArtifactTooLarge');
    const endless = await failure(readAll(`http://${base}/endless`, { ...loopback, maxBytes: 1024 ** 2 }));
    expect(endless.type).toBe('ArtifactTooLarge');
    await expect.poll(() => closed.filter((p) => p === '/endless').length).toBe(1);
  });

  it('gives up on a server that sends nothing for the idle timeout', async () => {
    const started = Date.now();
    await expect(readAll(`http://${base}/silent`, { ...loopback, idleTimeoutMs: 300 })).rejects.toThrow(/nothing received for 0.3 s/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('aborts a trickling read on its signal and drops the connection', async () => {
    const controller = new AbortController();
    const progress: number[] = [];
    const reading = readAll(`http://${base}/trickle`, { ...loopback, signal: controller.signal, onBytes: (n) => progress.push(n) });
    await expect.poll(() => progress.length).toBeGreaterThan(2);
    controller.abort();
    await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
    await expect.poll(() => closed.includes('/trickle')).toBe(true);
  });
});
