import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { addAbortSignal, pipeline, Transform, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { readUriRefusal, type ReadPolicy } from '../core/uri-policy.js';
import { assertOpenedInsideRoots, guardedLookup, RefusedAddress, realPathInsideRoots, uriNotAllowed } from './uri-guard.js';

/** Readable locations and limits of every read, from configuration (platform/config.ts). */
export interface ReadSettings {
  readonly policy: ReadPolicy;
  readonly maxArtifactBytes: number;
  readonly maxDatasetBytes: number;
  /** An http(s) read that receives nothing for this long fails. */
  readonly idleTimeoutMs: number;
}

export interface ReadOptions {
  readonly policy: ReadPolicy;
  readonly maxBytes: number;
  readonly idleTimeoutMs: number;
  /** Aborts the read: the file is closed, the connection destroyed. */
  readonly signal?: AbortSignal;
  /** Called with each chunk's size as it passes (heartbeats). */
  readonly onBytes?: (bytes: number) => void;
}

/** Error type of an input over its size limit: final, never retried. */
export const ARTIFACT_TOO_LARGE = 'ArtifactTooLarge';

export function tooLarge(uri: string, maxBytes: number, size?: number): ApplicationFailure {
  const what = size === undefined ? 'more than' : `${size} bytes, more than`;
  return ApplicationFailure.create({
    type: ARTIFACT_TOO_LARGE,
    message: `${uri} is ${what} the limit of ${maxBytes} bytes (STEWARD_MAX_ARTIFACT_BYTES, STEWARD_MAX_DATASET_BYTES)`,
    nonRetryable: true,
    details: [{ uri, maxBytes }],
  });
}

export function isTooLarge(err: unknown): err is ApplicationFailure {
  return err instanceof ApplicationFailure && err.type === ARTIFACT_TOO_LARGE;
}

/** Limits for reading artifacts and for reading datasets. */
export const artifactReads = (s: ReadSettings) => ({ policy: s.policy, maxBytes: s.maxArtifactBytes, idleTimeoutMs: s.idleTimeoutMs });
export const datasetReads = (s: ReadSettings) => ({ policy: s.policy, maxBytes: s.maxDatasetBytes, idleTimeoutMs: s.idleTimeoutMs });

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

/** Passes bytes through, failing with ArtifactTooLarge past the limit and reporting progress. */
function limiter(uri: string, options: ReadOptions): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      total += chunk.length;
      if (total > options.maxBytes) return done(tooLarge(uri, options.maxBytes));
      options.onBytes?.(chunk.length);
      done(null, chunk);
    },
  });
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
 * Opens the bytes behind an artifact or dataset URI (object stores plug in here), after checking the location
 * against the read policy; nothing is read from a refused location. The stream fails with ArtifactTooLarge
 * past `maxBytes` and is destroyed (file closed, connection dropped) when `signal` aborts.
 */
export async function openUri(uri: string, options: ReadOptions): Promise<Readable> {
  options.signal?.throwIfAborted();
  const refusal = readUriRefusal(uri, options.policy);
  if (refusal) throw uriNotAllowed(uri, refusal);
  const url = new URL(uri);
  let source: Readable;
  if (url.protocol === 'file:') source = await openFile(uri, url, options);
  else if (url.protocol === 'http:' || url.protocol === 'https:') source = await openHttp(uri, url, options);
  else throw new Error(`no reader for ${url.protocol} URIs is configured`);
  const limited = limiter(uri, options);
  pipeline(source, limited, () => undefined);
  if (options.signal) {
    if (options.signal.aborted) limited.destroy(options.signal.reason as Error);
    else addAbortSignal(options.signal, limited);
  }
  return limited;
}
