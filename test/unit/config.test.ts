import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../platform/config.js';

describe('configuration from the environment', () => {
  it('defaults to a local dev server and the embedded catalog', () => {
    const config = loadConfig({});
    expect(config.temporal).toEqual({ address: 'localhost:7233', namespace: 'default', taskQueue: 'steward-lifecycle' });
    expect(config.catalog).toEqual({ kind: 'embedded', dataDir: '.steward/catalog' });
    expect(config.port).toBe(8080);
    expect(config.evidenceDir).toBe('.steward/evidence');
  });

  it('uses PostgreSQL when DATABASE_URL is set', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u@db:5432/steward' }).catalog).toEqual({
      kind: 'postgres',
      url: 'postgres://u@db:5432/steward',
    });
  });

  it('names the variable and the problem when a value is wrong', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT: /);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL: must be a postgres:\/\/ URL/);
    expect(() => loadConfig({ TEMPORAL_TLS_CERT: '/c.pem' })).toThrow(/must be set together/);
  });
});
