import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../platform/config.js';

describe('read policy configuration', () => {
  it('defaults to the examples and the data dir\'s artifacts, file and https, any public host, no private networks', () => {
    const { reading, shutdownGraceMs } = loadConfig({ STEWARD_DATA_DIR: '/var/lib/steward' });
    expect(reading.policy).toEqual({
      roots: [realpathSync('examples'), '/var/lib/steward/artifacts'],
      schemes: ['file', 'https'],
      hosts: null,
      privateNetworks: [],
    });
    expect(reading.maxArtifactBytes).toBe(2 * 1024 ** 3);
    expect(reading.maxDatasetBytes).toBe(512 * 1024 ** 2);
    expect(reading.idleTimeoutMs).toBe(30_000);
    expect(shutdownGraceMs).toBe(5000);
  });

  it('reads roots as a path list, hosts and schemes as comma lists, private networks as CIDRs or true', () => {
    const { reading } = loadConfig({
      STEWARD_READ_ROOTS: 'relative/models:/srv//models/',
      STEWARD_READ_SCHEMES: 'https, HTTP',
      STEWARD_READ_HOSTS: 'Models.example.com,*.blob.example.net',
      STEWARD_ALLOW_PRIVATE_NETWORKS: '10.0.0.0/8, 127.0.0.1',
      STEWARD_MAX_ARTIFACT_BYTES: '1000',
    });
    expect(reading.policy).toEqual({
      roots: [resolve('relative/models'), '/srv/models'],
      schemes: ['https', 'http'],
      hosts: ['models.example.com', '*.blob.example.net'],
      privateNetworks: ['10.0.0.0/8', '127.0.0.1'],
    });
    expect(reading.maxArtifactBytes).toBe(1000);
    expect(loadConfig({ STEWARD_ALLOW_PRIVATE_NETWORKS: 'true' }).reading.policy.privateNetworks).toBe('all');
  });

  it('names the variable of a wrong value', () => {
    expect(() => loadConfig({ STEWARD_ALLOW_PRIVATE_NETWORKS: 'yes please' })).toThrow(ConfigError);
    expect(() => loadConfig({ STEWARD_ALLOW_PRIVATE_NETWORKS: '10.0.0.0/99' })).toThrow(/STEWARD_ALLOW_PRIVATE_NETWORKS: 10\.0\.0\.0\/99 is not/);
    expect(() => loadConfig({ STEWARD_READ_SCHEMES: 'file,ftp' })).toThrow(/STEWARD_READ_SCHEMES: ftp cannot be read/);
    expect(() => loadConfig({ STEWARD_MAX_ARTIFACT_BYTES: '0' })).toThrow(/STEWARD_MAX_ARTIFACT_BYTES/);
  });
});
