import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lifecycles } from '../../api/lifecycles.js';
import { exportBundle } from '../../audit/bundle.js';
import { lifecycleRunHistories, startInputOf } from '../../audit/run-histories.js';
import { manifestSchema } from '../../core/manifest.js';
import type { Principal } from '../../core/principal.js';
import { bundleWorkflows } from '../../workers/bundle.js';
import { replayHistories } from '../../workers/replay.js';
import { statusQuery } from '../../workflows/messages.js';
import { onlyV1, v2WithoutMigration } from '../fixtures/workflows/evolving-templates.js';
import { stageTransitionsIn } from '../harness/history.js';
import {
  connectTestClient,
  createTestDatabase,
  eventually,
  startTestWorker,
  terminateRunning,
  uniqueTaskQueue,
  type RunningWorker,
  type TestDatabase,
} from '../harness/index.js';
import { sampleManifest } from '../harness/manifests.js';

/**
 * Template evolution on a live lifecycle. Each worker generation is a workflow bundle over a different
 * registry: `evolving@1` only; then `evolving@2` released without a migration; then `evolving@2` declaring
 * `migrateFrom: ['evolving@1']`. The lifecycle keeps its version until a migration moves it, and the move
 * happens only at a continue-as-new boundary, behind a patch marker.
 */
describe('a running lifecycle and a new template version', () => {
  let client: Client;
  let database: TestDatabase;
  let taskQueue: string;
  let worker: RunningWorker | undefined;
  let bundles: Record<'v1' | 'v2' | 'migrating', WorkflowBundleWithSourceMap>;
  const erin: Principal = { id: 'erin', roles: ['engineer'] };

  beforeAll(async () => {
    const entry = (name: string) => join(process.cwd(), 'test', 'fixtures', 'workflows', `${name}.ts`);
    const [v1, v2, migrating] = await Promise.all(['evolving-v1', 'evolving-v2', 'evolving-v2-migrating'].map((n) => bundleWorkflows(entry(n))));
    bundles = { v1: v1!, v2: v2!, migrating: migrating! };
    database = await createTestDatabase();
    client = await connectTestClient();
    taskQueue = uniqueTaskQueue('migration');
  });

  afterAll(async () => {
    await terminateRunning(client, taskQueue);
    await worker?.stop();
    await client?.connection.close();
    await database?.drop();
  });

  async function deploy(generation: keyof typeof bundles): Promise<void> {
    await worker?.stop();
    worker = await startTestWorker({ database, taskQueue, workflowBundle: bundles[generation] });
  }

  it('keeps v1 after v2 is released, and moves to v2 only through its migration at continue-as-new', async () => {
    await deploy('v1');
    const manifest = manifestSchema.parse(await sampleManifest({ name: 'evolving', template: 'evolving', riskTier: 'low' }));
    const { workflowId } = await new Lifecycles(client, taskQueue, undefined, onlyV1).register(manifest, erin);
    const handle = client.workflow.getHandle(workflowId);
    const status = () => handle.query(statusQuery);
    const runAtLeast = (n: number) => eventually(`run ${n}`, async () => ((await status()).run >= n ? status() : undefined));

    expect(await runAtLeast(2)).toMatchObject({ template: 'evolving@1', stage: 'monitor' });

    // v2 is released without a migration: new lifecycles get it by name, this one keeps v1 across runs.
    await deploy('v2');
    expect(new Lifecycles(client, taskQueue, undefined, v2WithoutMigration).templateFor(manifest)).toBe('evolving@2');
    const beforeV2 = (await status()).run;
    expect(await runAtLeast(beforeV2 + 2)).toMatchObject({ template: 'evolving@1' });

    // v2 now declares the migration: the lifecycle moves at its next continue-as-new, not before.
    await deploy('migrating');
    const migrated = await eventually('the migration', async () => ((await status()).template === 'evolving@2' ? status() : undefined));
    const runs = await lifecycleRunHistories(client, workflowId);
    const templates = runs.map((r) => startInputOf(r.history).template);
    const firstOnV2 = templates.indexOf('evolving@2');
    expect(firstOnV2).toBeGreaterThan(0);
    expect(templates.slice(0, firstOnV2).every((t) => t === 'evolving@1')).toBe(true);
    expect(templates.slice(firstOnV2).every((t) => t === 'evolving@2')).toBe(true);
    expect(migrated.run).toBeGreaterThanOrEqual(firstOnV2 + 1);

    // The run that migrated ends with the migration: a patch marker, the recorded move, then continue-as-new.
    const last = runs[firstOnV2 - 1]!.history;
    const transitions = stageTransitionsIn(last);
    expect(transitions.at(-1)).toMatchObject({ stage: 'monitor', step: 'template', outcome: 'migrated', detail: { from: 'evolving@1', to: 'evolving@2' } });
    const events = last.events ?? [];
    expect(events.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')).toBe(true);
    // …which continued into the first run on v2.
    expect(events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId).toBe(runs[firstOnV2]!.runId);
    // Earlier runs never recorded a migration.
    expect(runs.slice(0, firstOnV2 - 1).flatMap((r) => stageTransitionsIn(r.history)).filter((t) => t.outcome === 'migrated')).toEqual([]);

    expect((await handle.describe()).memo).toMatchObject({ template: 'evolving@2' });
    await eventually('the catalog to follow', async () => {
      const row = await database.db.selectFrom('model_versions').select('template').where('workflow_id', '=', workflowId).executeTakeFirst();
      return row?.template === 'evolving@2' ? row : undefined;
    });

    // The evidence bundle names every template version the lifecycle ran.
    const bundle = await exportBundle(client, { name: manifest.name, version: manifest.version }, { exportedBy: 'ada' });
    expect(bundle.lifecycles[0]).toMatchObject({ template: 'evolving@1', templates: ['evolving@1', 'evolving@2'] });

    // Every run, before and after the move, replays against the code that migrated it.
    const outcomes = await replayHistories(
      runs.map((r) => ({ name: r.runId, json: JSON.parse(historyToJSON(r.history)) })),
      bundles.migrating,
    );
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
  });
});
