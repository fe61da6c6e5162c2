import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { bundleWorkflows } from '../../workers/bundle.js';
import { replayHistories } from '../../workers/replay.js';

/**
 * A worker with no trace exporter bundles without the OpenTelemetry workflow interceptors. Histories recorded by
 * traced workers must replay on it and the other way round: the interceptors add no commands.
 */
Runtime.install({ logger: new DefaultLogger('ERROR') });

const dir = join(process.cwd(), 'test', 'fixtures', 'histories');
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((name) => ({ name, json: JSON.parse(readFileSync(join(dir, name), 'utf8')) }));

describe('the bundle of a worker without a trace exporter', () => {
  it('leaves the workflow interceptors out and replays every recorded history', async () => {
    const [traced, untraced] = await Promise.all([bundleWorkflows(), bundleWorkflows(undefined, { traced: false })]);
    const marker = 'OpenTelemetryInboundInterceptor';
    expect(traced.code).toContain(marker);
    expect(untraced.code).not.toContain(marker);
    const failures = (await replayHistories(fixtures, untraced)).filter((o) => !o.ok);
    expect(failures).toEqual([]);
    expect(fixtures.length).toBeGreaterThan(40);
  }, 180_000);
});
