import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StewardHttp } from '../../cli/http.js';

/** A listing served in pages of two, the way the API pages production at T and the inbox. */
const deployments = ['a', 'b', 'c', 'd', 'e'].map((model) => ({ model }));
let server: Server;
let base: string;
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push(url.search);
    const start = Number(url.searchParams.get('cursor') ?? 0);
    const page = deployments.slice(start, start + 2);
    const next = start + 2 < deployments.length ? String(start + 2) : null;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ at: '2026-12-01T00:00:00.000Z', deployments: page, nextCursor: next }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('the CLI follows nextCursor', () => {
  it('joins every page and keeps the query on each request', async () => {
    const all = await new StewardHttp(base, undefined).allPages('/production', new URLSearchParams({ model: 'm', limit: '2' }), 'deployments');
    expect(all).toEqual({ at: '2026-12-01T00:00:00.000Z', deployments, nextCursor: null });
    expect(seen).toEqual(['?model=m&limit=2', '?model=m&limit=2&cursor=2', '?model=m&limit=2&cursor=4']);
  });
});
