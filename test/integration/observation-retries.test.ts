import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lifecycles } from '../../api/lifecycles.js';
import { lifecycleRunHistories } from '../../audit/run-histories.js';
import { isWindowJudged } from '../../core/evidence.js';
import { manifestSchema } from '../../core/manifest.js';
import type { Observation } from '../../core/observation.js';
import type { Principal } from '../../core/principal.js';
import { observationSignal, statusQuery } from '../../workflows/messages.js';
import { continuingTemplates } from '../fixtures/workflows/continuing-monitor.js';
import { stageTransitionsIn } from '../harness/history.js';
import { eventually, startBundledLifecycles, type BundledLifecycles } from '../harness/index.js';
import { sampleManifest } from '../harness/manifests.js';

/**
 * A window reported again with the same id (the API's Idempotency-Key retried) is the same window and is
 * judged once, even when the retry reaches the lifecycle after the monitor loop continued-as-new: the
 * checkpoint carries the ids seen most recently, not only the windows still pending.
 */
const windowOf = (id: string, errors: number): Observation => ({
  id,
  windowStart: new Date(Date.now() - 60_000).toISOString(),
  windowEnd: new Date().toISOString(),
  requests: 100,
  errors,
  kpis: {},
  reportedBy: 'serving',
});

describe('observed windows retried across continue-as-new', () => {
  let stack: BundledLifecycles;
  let client: Client;
  let lifecycles: Lifecycles;
  const erin: Principal = { id: 'erin', roles: ['engineer'] };

  beforeAll(async () => {
    stack = await startBundledLifecycles('window-retries', 'continuing-monitor.ts', continuingTemplates);
    ({ client, lifecycles } = stack);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('judges a window once when its report is retried in a later run', async () => {
    const m = manifestSchema.parse(await sampleManifest({ name: 'window-retries', template: 'continuing' }));
    const { workflowId } = await lifecycles.register(m, erin);
    const handle = client.workflow.getHandle(workflowId);
    await eventually('monitoring', async () => ((await handle.query(statusQuery)).stage === 'monitor' ? true : undefined), { timeoutMs: 15_000 });
    const judged = async () => (await lifecycleRunHistories(client, workflowId)).flatMap((r) => stageTransitionsIn(r.history)).filter(isWindowJudged);

    await handle.signal(observationSignal, windowOf('w1', 9));
    await eventually('w1 judged', async () => ((await judged()).length === 1 ? true : undefined), { timeoutMs: 15_000 });
    const runOfW1 = (await handle.query(statusQuery)).run;
    // Two cycles of 300 ms per run: wait for a later run, then retry the same window.
    await eventually('a later run', async () => ((await handle.query(statusQuery)).run > runOfW1 ? true : undefined), { timeoutMs: 15_000 });
    await handle.signal(observationSignal, windowOf('w1', 9));
    // A fresh window after the retry: once it is judged, the retry has been handled too (signals are in order).
    await handle.signal(observationSignal, windowOf('w2', 0));
    await eventually('w2 judged', async () => ((await judged()).some((t) => t.detail.window.id === 'w2') ? true : undefined), { timeoutMs: 15_000 });

    expect((await judged()).map((t) => [t.detail.window.id, t.outcome])).toEqual([
      ['w1', 'breached'],
      ['w2', 'passed'],
    ]);
    await handle.terminate('test over');
  });
});
