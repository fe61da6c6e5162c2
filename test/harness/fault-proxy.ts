import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small HTTP proxy in front of a real runtime that a test steers request by request: pass a request
 * through (and act once the runtime has answered, before the caller hears it), answer it itself (inject a
 * fault), or drop the connection. Everything it saw is logged, so a test can tell what reached the runtime.
 */

export interface ProxiedRequest {
  readonly method: string;
  /** The path with its query, as the caller sent it. */
  readonly path: string;
  readonly body: Buffer;
}

export type Verdict =
  /** Forward to the runtime; `afterResponse` runs once the runtime answered and before the caller is told. */
  | { readonly action: 'pass'; readonly afterResponse?: (status: number) => Promise<void> | void }
  /** Answer without asking the runtime. */
  | { readonly action: 'respond'; readonly status: number; readonly body: unknown }
  /** Close the caller's connection without an answer. */
  | { readonly action: 'drop' };

export type Interceptor = (request: ProxiedRequest) => Verdict | Promise<Verdict>;

export interface ProxyLogEntry {
  readonly method: string;
  readonly path: string;
  /** `passed` requests reached the runtime; `status` is what it (or the proxy) answered. */
  readonly outcome: 'passed' | 'responded' | 'dropped' | 'upstream-error';
  readonly status?: number;
}

export interface FaultProxy {
  readonly url: string;
  /** Decides each request; everything passes through while null. */
  intercept: Interceptor | null;
  readonly log: ProxyLogEntry[];
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host', 'content-length']);

function endToEnd(headers: http.IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k.toLowerCase())) out[k] = v;
  return out;
}

const readAll = (stream: NodeJS.ReadableStream): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });

/** Starts a proxy on a free loopback port forwarding to `upstream` (`http://host:port`). */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  const forward = (req: http.IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const out = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, agent, headers: { ...endToEnd(req.headers), 'content-length': String(body.length) } },
        (res) => {
          readAll(res).then((b) => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: b }), reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });

  const send = (res: http.ServerResponse, status: number, headers: Record<string, string | string[]>, body: Buffer) => {
    // The caller may be gone (a killed process): nothing to tell it then.
    if (res.destroyed || res.socket?.destroyed) return;
    res.writeHead(status, { ...headers, 'content-length': String(body.length) });
    res.end(body);
  };

  const proxy: FaultProxy = {
    url: '',
    intercept: null,
    log: [],
    close: async () => undefined,
  };

  const server = http.createServer((req, res) => {
    res.on('error', () => undefined);
    void (async () => {
      const body = await readAll(req);
      const method = req.method ?? 'GET';
      const path = req.url ?? '/';
      const verdict: Verdict = proxy.intercept ? await proxy.intercept({ method, path, body }) : { action: 'pass' };
      if (verdict.action === 'drop') {
        proxy.log.push({ method, path, outcome: 'dropped' });
        req.socket.destroy();
        return;
      }
      if (verdict.action === 'respond') {
        proxy.log.push({ method, path, outcome: 'responded', status: verdict.status });
        send(res, verdict.status, { 'content-type': 'application/json' }, Buffer.from(JSON.stringify(verdict.body)));
        return;
      }
      let answer: Awaited<ReturnType<typeof forward>>;
      try {
        answer = await forward(req, body);
      } catch (err) {
        proxy.log.push({ method, path, outcome: 'upstream-error' });
        send(res, 502, { 'content-type': 'application/json' }, Buffer.from(JSON.stringify({ error: `proxy: ${(err as Error).message}` })));
        return;
      }
      proxy.log.push({ method, path, outcome: 'passed', status: answer.status });
      await verdict.afterResponse?.(answer.status);
      send(res, answer.status, endToEnd(answer.headers), answer.body);
    })().catch((err: unknown) => {
      send(res, 500, { 'content-type': 'application/json' }, Buffer.from(JSON.stringify({ error: `proxy fault: ${String(err)}` })));
    });
  });
  // A caller killed mid-request resets its socket; that is the point of some tests, not a proxy failure.
  server.on('connection', (socket) => socket.on('error', () => undefined));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(proxy, {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  });
  return proxy;
}

/**
 * Answers 500, as a crashing model would, to `share` of the inference requests for one runtime model name
 * (spread evenly and deterministically: 0.6 fails 3 of every 5), and passes everything else through.
 */
export function failingInference(runtimeName: string, share: number, next: Interceptor | null = null): Interceptor & { readonly counts: { seen: number; failed: number } } {
  const counts = { seen: 0, failed: 0 };
  const path = `/v2/models/${encodeURIComponent(runtimeName)}/infer`;
  const intercept: Interceptor = (request) => {
    if (request.method !== 'POST' || request.path.split('?')[0] !== path) return next ? next(request) : { action: 'pass' };
    counts.seen += 1;
    // Fails request n when floor(n * share) steps up: an even spread with exactly the share over time.
    if (Math.floor(counts.seen * share) > Math.floor((counts.seen - 1) * share)) {
      counts.failed += 1;
      return { action: 'respond', status: 500, body: { error: 'injected fault: the model crashed' } };
    }
    return { action: 'pass' };
  };
  return Object.assign(intercept, { counts });
}
