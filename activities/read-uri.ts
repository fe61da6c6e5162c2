import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { pipeline, Transform, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Context } from '@temporalio/activity';
import { objectLocationOf, openUriRefusal, readUriRefusal, type ReadPolicy } from '../core/uri-policy.js';
import { openObject, type ObjectStoreSettings } from './object-store.js';
import { tooLarge } from './read-errors.js';
import { assertOpenedInsideRoots, guardedLookup, RefusedAddress, realPathInsideRoots, uriNotAllowed } from './uri-guard.js';

export { ARTIFACT_TOO_LARGE, isTooLarge, tooLarge } from './read-errors.js';

/** Readable locations and limits of every read, from configuration (platform/config.ts). */
export interface ReadSettings {
  readonly policy: ReadPolicy;
  readonly maxArtifactBytes: number;
  readonly maxDatasetBytes: number;
  /** An http(s), s3 or gs read that receives nothing for this long fails. */
  readonly idleTimeoutMs: number;
  /** Endpoints and regions of s3:// and gs:// reads; absent: the SDKs' defaults. */
  readonly objectStores?: ObjectStoreSettings;
}

export interface ReadOptions {
  readonly policy: ReadPolicy;
  readonly maxBytes: number;
  readonly idleTimeoutMs: number;
  /** Aborts the read: the file is closed, the connection destroyed. */
  readonly signal?: AbortSignal;
  /** Called with each chunk's size as it passes (heartbeats). */
  readonly onBytes?: (bytes: number) => void;
  /** Endpoints and regions of s3:// and gs:// reads; absent: the SDKs' defaults. */
  readonly objectStores?: ObjectStoreSettings;
}

/** Limits for reading artifacts and for reading datasets. */
export const artifactReads = (s: ReadSettings) => ({ policy: s.policy, maxBytes: s.maxArtifactBytes, idleTimeoutMs: s.idleTimeoutMs, ...stores(s) });
export const datasetReads = (s: ReadSettings) => ({ policy: s.policy, maxBytes: s.maxDatasetBytes, idleTimeoutMs: s.idleTimeoutMs, ...stores(s) });
const stores = (s: ReadSettings) => (s.objectStores ? { objectStores: s.objectStores } : {});

/**
 * Inside an activity: a signal that aborts on cancellation (retire, worker shutdown) or when the attempt's
 * start-to-close timeout has passed (the server gives up on it then; the read must stop too), and progress
 * reported as heartbeats with the bytes read so far.
 */
export function activityReadControl(): { signal: AbortSignal; onBytes: (bytes: number) => void } {
  const context = Context.current();
  const { startToCloseTimeoutMs } = context.info;
  const signals = [context.cancellationSignal];
  if (startToCloseTimeoutMs > 0) signals.push(AbortSignal.timeout(startToCloseTimeoutMs));
  let total = 0;
  return {
    signal: AbortSignal.any(signals),
    onBytes: (bytes) => {
      total += bytes;
      context.heartbeat({ bytesRead: total });
    },
  };
}

/**
 * Passes bytes through, failing with ArtifactTooLarge past the limit and reporting progress; with `idleMs`,
 * failing when no chunk arrives for that long (readers whose client has no idle timeout of its own).
 */
function limiter(uri: string, options: ReadOptions, idleMs?: number): Transform {
  let total = 0;
  let idle: NodeJS.Timeout | undefined;
  const watch = () => {
    if (idleMs === undefined) return;
    clearTimeout(idle);
    idle = setTimeout(() => stream.destroy(new Error(`${uri}: nothing received for ${idleMs / 1000} s`)), idleMs).unref();
  };
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      watch();
      total += chunk.length;
      if (total > options.maxBytes) return done(tooLarge(uri, options.maxBytes));
      options.onBytes?.(chunk.length);
      done(null, chunk);
    },
    flush(done) {
      clearTimeout(idle);
      done();
    },
    destroy(err, done) {
      clearTimeout(idle);
      done(err);
    },
  });
  watch();
  return stream;
}

/** An s3:// or gs:// object through its store's SDK (object-store.ts), sized from its metadata first. */
function openObjectUri(uri: string, url: URL, options: ReadOptions): Promise<Readable> {
  const location = objectLocationOf(url);
  if ('rule' in location) throw uriNotAllowed(uri, location);
  return openObject(uri, location, options.objectStores, { maxBytes: options.maxBytes, idleTimeoutMs: options.idleTimeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
}

/** Only regular files, opened after their real path is checked against the roots. */
async function openFile(uri: string, url: URL, options: ReadOptions): Promise<Readable> {
  let path: string;
  try {
    path = fileURLToPath(url);
  } catch (err) {
    throw uriNotAllowed(uri, { rule: 'malformed', problem: (err as Error).message });
  }
  const real = await realPathInsideRoots(uri, path, options.policy.roots);
  // O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOFOLLOW: the checked path must not turn into a link.
  const handle = await open(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  try {
    await assertOpenedInsideRoots(uri, handle.fd, options.policy.roots);
    const stat = await handle.stat();
    if (!stat.isFile()) throw uriNotAllowed(uri, { rule: 'regular-file', problem: 'is not a regular file (devices, FIFOs and sockets are never read)' });
    if (stat.size > options.maxBytes) throw tooLarge(uri, options.maxBytes, stat.size);
  } catch (err) {
    await handle.close();
    throw err;
  }
  return handle.createReadStream();
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

/** One GET; redirects are followed only to locations the policy allows, each checked like the first. */
function openHttp(uri: string, url: URL, options: ReadOptions, redirects = 0): Promise<Readable> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<Readable>((resolve, reject) => {
    let response: IncomingMessage | undefined;
    const req = client.get(
      url,
      {
        lookup: guardedLookup(options.policy),
        headers: { 'user-agent': 'Steward/1', 'accept-encoding': 'identity' },
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (res) => {
        response = res;
        const status = res.statusCode ?? 0;
        if (REDIRECTS.has(status)) {
          res.resume();
          req.destroy();
          const location = res.headers.location;
          if (!location) return reject(new Error(`HTTP ${status} from ${url.href} without a Location`));
          if (redirects >= MAX_REDIRECTS) return reject(new Error(`${uri}: more than ${MAX_REDIRECTS} redirects`));
          const next = new URL(location, url);
          const refusal = readUriRefusal(next.href, options.policy);
          if (refusal) return reject(uriNotAllowed(uri, { rule: 'redirect', problem: `redirects to ${next.href}, which ${refusal.problem} [${refusal.rule}]` }));
          if (next.protocol !== 'http:' && next.protocol !== 'https:') return reject(new Error(`${uri}: redirects to a ${next.protocol} URI`));
          return resolve(openHttp(uri, next, options, redirects + 1));
        }
        if (status < 200 || status >= 300) {
          res.resume();
          req.destroy();
          return reject(new Error(`HTTP ${status} from ${url.href}`));
        }
        const length = Number(res.headers['content-length']);
        if (Number.isFinite(length) && length > options.maxBytes) {
          req.destroy();
          return reject(tooLarge(uri, options.maxBytes, length));
        }
        resolve(res);
      },
    );
    // Per chunk, not per read: a server that trickles bytes is stopped by the size limit and the activity's
    // own deadline; one that sends nothing, here.
    req.setTimeout(options.idleTimeoutMs, () => {
      const err = new Error(`${url.href}: nothing received for ${options.idleTimeoutMs / 1000} s`);
      if (response) response.destroy(err);
      else req.destroy(err);
    });
    req.on('error', (err) => {
      if (err instanceof RefusedAddress) return reject(uriNotAllowed(uri, err.refusal));
      reject(err);
    });
  });
}

/**
 * Opens the bytes behind an artifact or dataset URI (file, http(s), s3, gs), after checking the location
 * against the read policy; nothing is read from a refused location. The stream fails with ArtifactTooLarge
 * past `maxBytes` and is destroyed (file closed, connection dropped) when `signal` aborts.
 */
export async function openUri(uri: string, options: ReadOptions): Promise<Readable> {
  options.signal?.throwIfAborted();
  const refusal = openUriRefusal(uri, options.policy);
  if (refusal) throw uriNotAllowed(uri, refusal);
  const url = new URL(uri);
  let source: Readable;
  let idleMs: number | undefined;
  if (url.protocol === 'file:') source = await openFile(uri, url, options);
  else if (url.protocol === 'http:' || url.protocol === 'https:') source = await openHttp(uri, url, options);
  else if (url.protocol === 's3:' || url.protocol === 'gs:') {
    source = await openObjectUri(uri, url, options);
    idleMs = options.idleTimeoutMs;
  } else throw new Error(`no reader for ${url.protocol} URIs is configured`);
  const limited = limiter(uri, options, idleMs);
  pipeline(source, limited, () => undefined);
  const { signal } = options;
  if (signal) {
    // The reader fails with the signal's own reason (a CancelledFailure in an activity), not a bare AbortError.
    const abort = () => limited.destroy(signal.reason as Error);
    if (signal.aborted) abort();
    else {
      signal.addEventListener('abort', abort, { once: true });
      limited.once('close', () => signal.removeEventListener('abort', abort));
    }
  }
  return limited;
}
