import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleWorkflows } from '../../workers/bundle.js';
import { replayHistories, type NamedHistory } from '../../workers/replay.js';

/**
 * Every recorded history must replay against the current workflow code. A change that would break a
 * running lifecycle fails here, naming the fixture and Temporal's description of the mismatched event.
 * Record new fixtures with `npm run record:histories`.
 */
Runtime.install({ logger: new DefaultLogger('ERROR') });

const dir = join(process.cwd(), 'test', 'fixtures', 'histories');
const fixtures: NamedHistory[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((name) => ({ name, json: JSON.parse(readFileSync(join(dir, name), 'utf8')) }));

describe('replay of recorded lifecycle histories', () => {
  let bundle: Awaited<ReturnType<typeof bundleWorkflows>>;
  beforeAll(async () => {
    bundle = await bundleWorkflows();
  }, 60_000);

  it('has fixtures covering every way a lifecycle ends, and continue-as-new', () => {
    const names = fixtures.map((f) => f.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'approved-retrained.run3.json',
        'retrained-child.run1.json',
        'rejected.run1.json',
        'failed-test.run1.json',
        'failed-scan.run1.json',
        'quorum.run1.json',
        'deadline-expired.run1.json',
        'deadline-escalated.run1.json',
        'template-standard.run1.json',
        'template-high-risk.run1.json',
        'template-rules-model.run1.json',
        'retired-at-gate.run1.json',
        // Recorded by earlier generations of the code (before approval policies; before templates; before drift;
        // before separation of duties counted authenticated teams and every request was answered).
        'v0-approved-retrained.run1.json',
        'v0-rejected.run1.json',
        'v1-approved-retrained.run3.json',
        'v1-quorum.run1.json',
        'v2-template-high-risk.run1.json',
        'v2-template-rules-model.run1.json',
        'v3-template-high-risk.run1.json',
        'v3-approved-retrained.run3.json',
        'v3-quorum.run1.json',
      ]),
    );
  });

  it('replays every fixture against the current code', async () => {
    const outcomes = await replayHistories(fixtures, bundle);
    const failures = outcomes.filter((o) => !o.ok);
    expect(failures, failures.map((f) => `${f.name}: ${'error' in f ? f.error : ''}`).join('\n')).toEqual([]);
    expect(outcomes).toHaveLength(fixtures.length);
  });

  describe('a change to a released template', () => {
    const entry = (name: string) => join(process.cwd(), 'test', 'fixtures', 'workflows', `${name}.ts`);
    const standardFixtures = () => fixtures.filter((f) => f.name.startsWith('template-standard'));

    it('made in place fails replay, naming the fixture and the event', async () => {
      const outcomes = await replayHistories(standardFixtures(), await bundleWorkflows(entry('standard-edited-in-place')));
      expect(outcomes).toHaveLength(1);
      const [outcome] = outcomes;
      expect(outcome).toMatchObject({ name: 'template-standard.run1.json', ok: false });
      expect(outcome && !outcome.ok && outcome.error).toMatch(/DeterminismViolationError/);
      expect(outcome && !outcome.ok && outcome.error).toMatch(/HistoryEvent\(id: \d+/);
    });

    it('made behind patched() replays every recorded history', async () => {
      const outcomes = await replayHistories(fixtures, await bundleWorkflows(entry('standard-edited-behind-patch')));
      expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    });

    it('released as a new version replays every recorded history', async () => {
      const outcomes = await replayHistories(fixtures, await bundleWorkflows(entry('standard-released-as-v2')));
      expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    });
  });

  it('fails, naming the fixture and the event, when the workflow code changes unsafely', async () => {
    const broken = await bundleWorkflows(join(process.cwd(), 'test', 'fixtures', 'workflows', 'timer-first-lifecycle.ts'));
    const [outcome] = await replayHistories(fixtures.filter((f) => f.name === 'rejected.run1.json'), broken);
    expect(outcome).toMatchObject({ name: 'rejected.run1.json', ok: false });
    expect(outcome && !outcome.ok && outcome.error).toMatch(/DeterminismViolationError/);
    expect(outcome && !outcome.ok && outcome.error).toMatch(/HistoryEvent\(id: \d+/);
  });
});
