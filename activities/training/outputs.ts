import { createHash } from 'node:crypto';
import type { Artifact } from '../../core/manifest.js';
import type { TrainingOutputFile } from '../../core/training.js';
import { activityReadControl, artifactReads, openUri, type ReadSettings } from '../read-uri.js';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/**
 * Reads every file a training run produced, through the read policy, and computes its sha256 from the bytes:
 * a runner's own claims about its outputs are never trusted. Returns the artifacts the new version carries.
 */
export async function fingerprintOutputs(files: readonly TrainingOutputFile[], reading: ReadSettings): Promise<Artifact[]> {
  const control = activityReadControl();
  const artifacts: Artifact[] = [];
  for (const file of files) {
    const hash = createHash('sha256');
    const stream = await openUri(file.uri, { ...artifactReads(reading), ...control });
    for await (const chunk of stream) hash.update(chunk as Buffer);
    const name = file.name && IDENTIFIER.test(file.name) ? file.name : undefined;
    artifacts.push({ uri: file.uri, sha256: hash.digest('hex'), ...(name ? { name } : {}) });
  }
  return artifacts;
}
