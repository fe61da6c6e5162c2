import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { ReadOptions, ReadSettings } from '../../activities/read-uri.js';
import type { ReadPolicy } from '../../core/uri-policy.js';

/** Where tests write artifacts and datasets (harness/artifacts.ts): the one root tests read from by default. */
export const TEST_ROOT = realpathSync(tmpdir());

/**
 * The read settings of tests, explicit rather than the production defaults: the temp dir as the only root, all
 * three schemes, and (unless a test allows them) no loopback or private addresses.
 */
export function testReadSettings(overrides: Partial<ReadPolicy> & Partial<Omit<ReadSettings, 'policy'>> = {}): ReadSettings {
  const { maxArtifactBytes = 64 * 1024 ** 2, maxDatasetBytes = 64 * 1024 ** 2, idleTimeoutMs = 10_000, ...policy } = overrides;
  return {
    policy: { roots: [TEST_ROOT], schemes: ['file', 'http', 'https'], hosts: null, privateNetworks: [], ...policy },
    maxArtifactBytes,
    maxDatasetBytes,
    idleTimeoutMs,
  };
}

/** Read options for calling readers directly (unit tests): the test settings' artifact limits. */
export function testReadOptions(overrides: Partial<ReadOptions> = {}): ReadOptions {
  const settings = testReadSettings();
  return { policy: settings.policy, maxBytes: settings.maxArtifactBytes, idleTimeoutMs: settings.idleTimeoutMs, ...overrides };
}
