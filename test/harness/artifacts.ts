import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Artifact } from '../../core/manifest.js';

/** Writes bytes to a temp file and returns the artifact reference a manifest would carry. */
export async function writeArtifact(name: string, bytes: Buffer | string): Promise<Artifact> {
  const dir = await mkdtemp(join(tmpdir(), 'steward-artifact-'));
  const path = join(dir, name);
  await writeFile(path, bytes);
  return { uri: pathToFileURL(path).href, sha256: createHash('sha256').update(bytes).digest('hex') };
}
