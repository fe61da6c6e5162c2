import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * An HTTP proxy in front of a real server that streams answers through as they come (unlike fault-proxy.ts,
 * which buffers them) and injects the faults a real server does not produce on demand: a body that stalls
 * after some bytes, or a HEAD that understates the size of what a GET then sends.
 */
export interface StreamFaults {
  /** Stop forwarding a GET's body after this many bytes, keeping the connection open. */
  stallAfterBytes?: number;
  /** The Content-Length a HEAD answer carries instead of the real one. */
  headContentLength?: number;
}

export interface StreamFaultProxy {
  readonly url: string;
  faults: StreamFaults;
  /** Bytes of GET bodies forwarded so far. */
  forwarded(): number;
  close(): Promise<void>;
}

export async function startStreamFaultProxy(upstream: string): Promise<StreamFaultProxy> {
  const target = new URL(upstream);
  const sockets = new Set<Socket>();
  let forwarded = 0;
  const proxy: StreamFaultProxy = {
    url: '',
    faults: {},
    forwarded: () => forwarded,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      const headers = { ...answer.headers };
      const { stallAfterBytes, headContentLength } = proxy.faults;
      if (req.method === 'HEAD' && headContentLength !== undefined) headers['content-length'] = String(headContentLength);
      if (req.method === 'GET') delete headers['content-length'];
      res.writeHead(answer.statusCode ?? 502, headers);
      if (req.method !== 'GET') return answer.pipe(res);
      answer.on('data', (chunk: Buffer) => {
        const room = stallAfterBytes === undefined ? chunk.length : Math.max(0, stallAfterBytes - forwarded);
        if (room > 0) {
          const part = chunk.subarray(0, room);
          forwarded += part.length;
          if (!res.write(part)) answer.pause();
        }
        // Past the budget the rest is swallowed: the caller hears nothing more, and the connection stays open.
      });
      res.on('drain', () => answer.resume());
      answer.on('end', () => {
        if (stallAfterBytes === undefined || forwarded < stallAfterBytes) res.end();
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return Object.assign(proxy, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}
