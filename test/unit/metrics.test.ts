import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCatalog, type CatalogDb } from '../../catalog/db.js';
import { migrateToLatest } from '../../catalog/migrate.js';
import { projection } from '../../catalog/projection.js';
import { manifestSchema } from '../../core/manifest.js';
import { temporalLogger } from '../../platform/logger.js';
import { mergeExpositions, stewardRegistry } from '../../platform/metrics.js';
import { sampleManifest } from '../harness/manifests.js';

/** Steward's metrics are read from the catalog (embedded PGlite here: same migrations and queries as PostgreSQL). */
describe("Steward's metrics", () => {
  let db: CatalogDb;
  const T0 = Date.parse('2026-01-01T00:00:00.000Z');
  const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

  beforeAll(async () => {
    db = await openCatalog({ kind: 'embedded', dataDir: await mkdtemp(join(tmpdir(), 'steward-metrics-')) });
    await migrateToLatest(db);
    const ids: string[] = [];
    for (const [name, stage] of [['waiting', 'approval'], ['ended', 'retire']] as const) {
      const manifest = manifestSchema.parse(await sampleManifest({ name }));
      const id = `${manifest.name}@1.0.0`;
      ids.push(id);
      await projection(db).registerVersion({ workflowId: `wf-${name}`, modelVersionId: id, manifest, registeredBy: { id: 'erin', roles: ['engineer'] }, lineage: null, at: at(0) });
      await db.updateTable('model_versions').set({ stage }).where('id', '=', id).execute();
    }
    const row = (workflow: string, seq: number, stage: string, step: string | null, outcome: string, seconds: number) => ({
      workflow_id: workflow,
      seq,
      model_version_id: ids[0]!,
      stage,
      step,
      outcome,
      actor: 'steward',
      detail: '{}',
      at: at(seconds),
    });
    await db
      .insertInto('stage_transitions')
      .values([
        row('wf-a', 1, 'test', 'metrics', 'passed', 1),
        row('wf-a', 2, 'scan', 'scan', 'passed', 2),
        row('wf-a', 3, 'approval', 'sign-off', 'entered', 10),
        row('wf-a', 4, 'approval', 'sign-off', 'escalated', 3_600),
        row('wf-a', 5, 'approval', 'sign-off', 'passed', 10 + 7_200),
        row('wf-a', 6, 'deploy', 'canary', 'passed', 8_000),
        row('wf-a', 7, 'deploy', 'observation', 'passed', 9_000),
        row('wf-a', 8, 'monitor', 'observation', 'breached', 10_000),
        row('wf-a', 9, 'monitor', 'drift', 'drifted', 10_000),
        row('wf-a', 10, 'monitor', 'observation', 'passed', 11_000),
        row('wf-b', 1, 'test', 'metrics', 'failed', 1),
        row('wf-c', 1, 'approval', 'sign-off', 'entered', 0),
        row('wf-c', 2, 'approval', 'sign-off', 'rejected', 30),
        // Entered and still waiting: no observation until it is decided.
        row('wf-d', 1, 'approval', 'sign-off', 'entered', 0),
      ])
      .execute();
  }, 120_000); // PGlite starts and migrates in seconds, slower on a busy machine.

  afterAll(() => db?.destroy());

  const sample = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it('counts lifecycles per stage, gate outcomes, window verdicts and approval waits, the same on every scrape', async () => {
    const registry = stewardRegistry(db);
    for (const text of [await registry.metrics(), await registry.metrics()]) {
      expect(sample(text, 'steward_lifecycles{stage="approval"}')).toBe(1);
      expect(sample(text, 'steward_lifecycles{stage="retire"}')).toBe(1);
      expect(sample(text, 'steward_lifecycles{stage="deploy"}')).toBe(0);

      expect(sample(text, 'steward_gate_outcomes_total{stage="test",step="metrics",outcome="passed"}')).toBe(1);
      expect(sample(text, 'steward_gate_outcomes_total{stage="test",step="metrics",outcome="failed"}')).toBe(1);
      expect(sample(text, 'steward_gate_outcomes_total{stage="approval",step="sign-off",outcome="passed"}')).toBe(1);
      expect(sample(text, 'steward_gate_outcomes_total{stage="approval",step="sign-off",outcome="rejected"}')).toBe(1);
      // Entering and escalating decide nothing; deploy phases are not gates.
      expect(text).not.toMatch(/steward_gate_outcomes_total\{[^}]*outcome="(entered|escalated)"/);
      expect(text).not.toMatch(/steward_gate_outcomes_total\{stage="deploy"/);

      expect(sample(text, 'steward_window_verdicts_total{check="observation",outcome="passed"}')).toBe(2);
      expect(sample(text, 'steward_window_verdicts_total{check="observation",outcome="breached"}')).toBe(1);
      expect(sample(text, 'steward_window_verdicts_total{check="drift",outcome="drifted"}')).toBe(1);

      expect(sample(text, 'steward_approval_wait_seconds_count{outcome="passed"}')).toBe(1);
      expect(sample(text, 'steward_approval_wait_seconds_sum{outcome="passed"}')).toBe(7_200);
      expect(sample(text, 'steward_approval_wait_seconds_bucket{le="3600",outcome="passed"}')).toBe(0);
      expect(sample(text, 'steward_approval_wait_seconds_bucket{le="14400",outcome="passed"}')).toBe(1);
      expect(sample(text, 'steward_approval_wait_seconds_sum{outcome="rejected"}')).toBe(30);
      expect(sample(text, 'steward_approval_wait_seconds_bucket{le="60",outcome="rejected"}')).toBe(1);
    }
  });

  it('names no model in any label', async () => {
    const text = await stewardRegistry(db).metrics();
    const labels = (text.match(/\{[^}]*\}/g) ?? []).join(' ');
    expect(labels).toContain('stage="approval"');
    expect(labels).not.toMatch(/waiting|ended|@|wf-/);
  });
});

describe('joining Prometheus texts', () => {
  it('describes each metric once and keeps every sample', () => {
    const merged = mergeExpositions(
      '# HELP a_total A.\n# TYPE a_total counter\na_total 1\n',
      '# HELP a_total A again.\n# TYPE a_total counter\na_total{x="1"} 2\n\n# HELP b B.\n# TYPE b gauge\nb 3\n',
    );
    expect(merged).toBe('# HELP a_total A.\n# TYPE a_total counter\na_total 1\na_total{x="1"} 2\n# HELP b B.\n# TYPE b gauge\nb 3\n');
  });
});

describe("the SDK's logger over pino", () => {
  it('writes SDK messages at their level with their metadata, marked as the SDK', () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) });
    const logger = temporalLogger(pino({ level: 'info' }, sink));
    logger.debug('hidden below info');
    logger.warn('slot supplier starved', { taskQueue: 'q' });
    logger.log('ERROR', 'activity failed', { activityType: 'scanArtifacts' });
    expect(lines.map((l) => [l.level, l.msg, l.component])).toEqual([
      [40, 'slot supplier starved', 'temporal-sdk'],
      [50, 'activity failed', 'temporal-sdk'],
    ]);
    expect(lines[0]).toMatchObject({ taskQueue: 'q' });
    expect(lines[1]).toMatchObject({ activityType: 'scanArtifacts' });
  });
});
