import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readManifestFile } from '../../cli/manifest-file.js';
import { scanArtifacts } from '../../activities/scanning.js';
import { artifactReads } from '../../activities/read-uri.js';
import { readSettingsFromEnv } from '../../platform/config.js';
import { readUriRefusal } from '../../core/uri-policy.js';

/** The example manifests the README points at must stay valid and their artifacts must match their digests. */
const examples = readdirSync('examples', { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => join('examples', d.name, 'manifest.yaml'));

describe('example manifests', () => {
  it.each(examples)('%s is valid and its artifacts are intact, and readable under the default read policy', async (path) => {
    const manifest = await readManifestFile(path);
    const defaults = readSettingsFromEnv({});
    // `npm run dev` registers it: the API's registration check passes it too.
    const uris = [...manifest.artifacts.map((a) => a.uri), manifest.referenceDataset?.uri].filter((u): u is string => u !== undefined);
    for (const uri of uris) expect(readUriRefusal(uri, defaults.policy), uri).toBeNull();
    const scan = await scanArtifacts(manifest.artifacts, artifactReads(defaults));
    expect(scan.findings).toEqual([]);
  });
});
