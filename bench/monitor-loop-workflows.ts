/**
 * The workflow bundle entry of `npm run bench:monitor-loop`: the real lifecycle over two bench templates whose
 * monitor loops iterate fast. Both have the test and scan gates and no approval, so a lifecycle reaches its
 * monitor loop without a person; monitoring is the templates' default apart from the cadence.
 */
import { defineTemplate, stage, TemplateRegistry } from '../workflows/dsl/index.js';
import { defineLifecycle } from '../workflows/lifecycle.js';

/** Timer cycles every 20 ms (each probes the deployment) and gateway windows; 100 cycles a run, as released templates. */
const timerAndWindows = defineTemplate({
  name: 'loop-timer',
  version: 1,
  description: 'monitor every 20 ms, 100 cycles a run',
  lifecycle: () => ({ gates: [stage.test(), stage.scan()], monitor: stage.monitor({ every: 20, maxErrorRate: 0.05, drift: null }) }),
});

/** An hourly timer, as `standard@1`: in the bench every iteration is a gateway window. */
const windowsOnly = defineTemplate({
  name: 'loop-windows',
  version: 1,
  description: 'monitor every hour; iterations are windows',
  lifecycle: () => ({ gates: [stage.test(), stage.scan()], monitor: stage.monitor({ every: '1h', maxErrorRate: 0.05, drift: null }) }),
});

export const monitorLoopTemplates = new TemplateRegistry([timerAndWindows, windowsOnly]);

export const modelLifecycle = defineLifecycle(monitorLoopTemplates);
