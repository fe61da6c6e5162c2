import { describe, expect, it } from 'vitest';
import { apiOptionsFrom } from '../../api/server.js';
import { ConfigError, loadConfig } from '../../platform/config.js';

describe('the scoring gateway\'s configuration', () => {
  it('defaults to one-minute windows, tokens required, no rate limit and a 30 s runtime timeout', () => {
    expect(loadConfig({}).gateway).toEqual({ windowMs: 60_000, maxWindowRequests: 100_000, public: false, rateLimitPerMinute: 0, timeoutMs: 30_000 });
  });

  it('reads STEWARD_GATEWAY_* and hands the API the deployment targets to score on', () => {
    const config = loadConfig({
      STEWARD_GATEWAY_WINDOW_SECONDS: '1.5',
      STEWARD_GATEWAY_WINDOW_MAX_REQUESTS: '500',
      STEWARD_GATEWAY_PUBLIC: 'true',
      STEWARD_GATEWAY_RATE_LIMIT_PER_MINUTE: '6000',
      STEWARD_GATEWAY_TIMEOUT_SECONDS: '2',
    });
    expect(config.gateway).toEqual({ windowMs: 1500, maxWindowRequests: 500, public: true, rateLimitPerMinute: 6000, timeoutMs: 2000 });
    expect(apiOptionsFrom(config).gateway).toMatchObject({ windowMs: 1500, targets: config.runtimes });
  });

  it('names the variable when a value is wrong', () => {
    expect(() => loadConfig({ STEWARD_GATEWAY_WINDOW_SECONDS: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ STEWARD_GATEWAY_WINDOW_SECONDS: 'soon' })).toThrow(/STEWARD_GATEWAY_WINDOW_SECONDS: /);
    expect(() => loadConfig({ STEWARD_GATEWAY_PUBLIC: 'yes' })).toThrow(/STEWARD_GATEWAY_PUBLIC: /);
  });
});
