import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ArtifactStager } from '../runtimes/staging.js';
import { artifactReads, openUri, type ReadSettings } from './read-uri.js';

/**
 * Copies artifacts into a runtime's model repository through the same allow-listed, size-limited reader the
 * scan uses, so deploying never opens a location registration or scanning would refuse. A copy is written to
 * a temporary name and renamed only once its digest matches, so the runtime never sees a partial or wrong file,
 * and a file already in place with the right digest is not copied again (a retried deploy is cheap).
 */

/** Error type of an artifact whose bytes do not match its registered digest: final, never retried. */
export const ARTIFACT_DIGEST_MISMATCH = 'ArtifactDigestMismatch';

async function sha256Of(path: string): Promise<string | null> {
  const hash = createHash('sha256');
  try {
    await pipeline(createReadStream(path), hash);
  } catch {
    return null;
  }
  return hash.digest('hex');
}

/** Heartbeats with the bytes copied, when called inside an activity. */
function heartbeater(): ((bytes: number) => void) | undefined {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return undefined;
  }
  let total = 0;
  return (bytes) => {
    total += bytes;
    context.heartbeat({ bytesStaged: total });
  };
}

export function createArtifactStager(reading: ReadSettings): ArtifactStager {
  return async (artifact, destination, options = {}) => {
    if ((await sha256Of(destination)) === artifact.sha256) return;
    await mkdir(dirname(destination), { recursive: true });
    const onBytes = heartbeater();
    const source = await openUri(artifact.uri, { ...artifactReads(reading), ...(options.signal ? { signal: options.signal } : {}), ...(onBytes ? { onBytes } : {}) });
    const hash = createHash('sha256');
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    const temp = `${destination}.${randomUUID()}.partial`;
    try {
      await pipeline(source, hashing, createWriteStream(temp, { flags: 'wx' }));
      const actual = hash.digest('hex');
      if (actual !== artifact.sha256) {
        throw ApplicationFailure.create({
          type: ARTIFACT_DIGEST_MISMATCH,
          message: `${artifact.uri} has sha256 ${actual}, not the registered ${artifact.sha256}; it was not staged`,
          nonRetryable: true,
          details: [{ uri: artifact.uri, expected: artifact.sha256, actual }],
        });
      }
      await rename(temp, destination);
    } finally {
      await rm(temp, { force: true });
    }
  };
}
