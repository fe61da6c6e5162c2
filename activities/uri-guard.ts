import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { readlink, realpath } from 'node:fs/promises';
import type { LookupFunction } from 'node:net';
import { ApplicationFailure } from '@temporalio/activity';
import { addressRefusal, describeRefusal, isInsideRoots, type NetworkPolicy, type UriRefusal } from '../core/uri-policy.js';

/**
 * The I/O half of the URI allow-list (core/uri-policy.ts has the static rules): symlinks resolved before a
 * file is judged, and every address a host name resolves to checked at connect time, so a DNS name pointing
 * at 127.0.0.1, or one that changes its answer between check and connect, is refused.
 */

/** Error type of a refused location: final, never retried. */
export const URI_NOT_ALLOWED = 'UriNotAllowed';

export function uriNotAllowed(uri: string, refusal: UriRefusal): ApplicationFailure {
  return ApplicationFailure.create({
    type: URI_NOT_ALLOWED,
    message: describeRefusal(uri, refusal),
    nonRetryable: true,
    details: [{ uri, rule: refusal.rule }],
  });
}

export function isUriNotAllowed(err: unknown): err is ApplicationFailure {
  return err instanceof ApplicationFailure && err.type === URI_NOT_ALLOWED;
}

/** Raised inside DNS lookup, where only an Error can travel; turned into UriNotAllowed by the caller. */
export class RefusedAddress extends Error {
  constructor(readonly refusal: UriRefusal) {
    super(refusal.problem);
  }
}

/** A lookup for http(s) requests that refuses a host if any address it resolves to is refused. */
export function guardedLookup(policy: NetworkPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      for (const a of addresses) {
        const refusal = addressRefusal(a.address, policy);
        if (refusal) {
          return callback(new RefusedAddress({ rule: refusal.rule, problem: `host ${hostname} resolves to an address Steward may not reach: ${refusal.problem}` }) as NodeJS.ErrnoException, '', 0);
        }
      }
      if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      return callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

/** The roots as real paths (a root that does not exist yet cannot contain anything). */
async function realRoots(roots: readonly string[]): Promise<string[]> {
  const real = await Promise.all(roots.map((r) => realpath(r).catch(() => null)));
  return real.filter((r): r is string => r !== null);
}

/**
 * The real path of a local file when it lies inside a root once symlinks and `..` are resolved; a refusal
 * otherwise. A missing file is an ordinary error (ENOENT), not a refusal.
 */
export async function realPathInsideRoots(uri: string, path: string, roots: readonly string[]): Promise<string> {
  const real = await realpath(path);
  if (!isInsideRoots(real, await realRoots(roots))) throw outsideRoots(uri);
  return real;
}

const outsideRoots = (uri: string) => uriNotAllowed(uri, { rule: 'read-roots', problem: 'resolves to a path outside the readable roots (STEWARD_READ_ROOTS)' });

/**
 * Where an open descriptor really points (Linux): closes the gap between checking a path and opening it, in
 * which a directory on the way could have been swapped for a symlink. Elsewhere the path check stands alone.
 */
export async function assertOpenedInsideRoots(uri: string, fd: number, roots: readonly string[]): Promise<void> {
  if (process.platform !== 'linux') return;
  const opened = await readlink(`/proc/self/fd/${fd}`).catch(() => null);
  if (opened !== null && !isInsideRoots(opened, await realRoots(roots))) throw outsideRoots(uri);
}
