import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readManifestFile } from '../../cli/manifest-file.js';
import { scanArtifacts } from '../../activities/scanning.js';
import { artifactReads } from '../../activities/read-uri.js';
import { readSettingsFromEnv } from '../../platform/config.js';

/** The example manifests the README points at must stay valid and their artifacts must match their digests. */
const examples = readdirSync('examples', { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => join('examples', d.name, 'manifest.yaml'));

describe('example manifests', () => {
  it.each(examples)('%s is valid and its artifacts are intact, and readable under the default read policy', async (path) => {
    const manifest = await readManifestFile(path);
    const scan = await scanArtifacts(manifest.artifacts, artifactReads(readSettingsFromEnv({})));
    expect(scan.findings).toEqual([]);
  });
});
