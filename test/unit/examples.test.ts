import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readManifestFile } from '../../cli/manifest-file.js';
import { scanArtifacts } from '../../activities/scanning.js';

/** The example manifests the README points at must stay valid and their artifacts must match their digests. */
const examples = readdirSync('examples', { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => join('examples', d.name, 'manifest.yaml'));

describe('example manifests', () => {
  it.each(examples)('%s is valid and its artifacts are intact', async (path) => {
    const manifest = await readManifestFile(path);
    const scan = await scanArtifacts(manifest.artifacts);
    expect(scan.findings).toEqual([]);
  });
});
