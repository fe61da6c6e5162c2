import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { steward } from '../harness/cli.js';
import { eventually } from '../harness/index.js';
import { startDev } from '../harness/dev.js';
import { freePort } from '../harness/ports.js';

/**
 * The README's first command as a new user follows it: `npm run dev` with no Python and no services, the example
 * ONNX model registered and approved with the printed commands, then `curl` to the scoring gateway returns the
 * predictions scikit-learn made for the same rows (examples/credit-scorer/train.py saved them).
 */
describe('steward dev quick start', () => {
  it('deploys the example ONNX model to the built-in runtime after approval, and the gateway scores it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'steward-quickstart-'));
    const [port, temporalPort, runtimePort] = [await freePort(), await freePort(), await freePort()];
    const dev = await startDev(dataDir, { port, temporalPort, env: { STEWARD_RUNTIME_PORT: String(runtimePort) } });
    try {
      const api = dev.api;
      expect(api).toBe(`http://127.0.0.1:${port}`);
      expect(dev.output()).toContain(`Runtime:      built-in, http://127.0.0.1:${runtimePort}`);
      const cli = (who: string, ...args: string[]) => steward({ STEWARD_API: api, STEWARD_TOKEN: dev.tokens[who] }, ...args);

      const registered = await cli('dev-engineer', 'register', 'examples/credit-scorer/manifest.yaml');
      expect(registered.code, registered.stderr).toBe(0);
      await eventually('the approval gate', async () => {
        const status = await cli('dev-auditor', 'status', 'credit-scorer@1.0.0');
        return status.stdout.includes('"stage": "approval"') ? true : undefined;
      }, { timeoutMs: 60_000, intervalMs: 500 });
      const approved = await cli('dev-approver', 'approve', 'credit-scorer@1.0.0', '-m', 'evaluation reviewed');
      expect(approved.code, approved.stdout + approved.stderr).toBe(0);

      // The printed curl: Open Inference Protocol V2, the example's request body.
      const request = await readFile('examples/credit-scorer/request.json', 'utf8');
      const expected = JSON.parse(await readFile('examples/credit-scorer/expected-predictions.json', 'utf8')) as { label: number[]; probability: number[] };
      const body = await eventually('a prediction from the gateway', async () => {
        const res = await fetch(`${api}/v2/models/credit-scorer/infer`, { method: 'POST', headers: { authorization: `Bearer ${dev.tokens['dev-engineer']}`, 'content-type': 'application/json' }, body: request });
        return res.status === 200 ? ((await res.json()) as { model_name: string; model_version: string; id: string; outputs: { name: string; data: number[] }[] }) : undefined;
      }, { timeoutMs: 90_000, intervalMs: 500 });
      expect(body).toMatchObject({ model_name: 'credit-scorer', model_version: '1.0.0', id: 'credit-scorer-example' });
      const output_ = (name: string) => body.outputs.find((o) => o.name === name)!.data;
      expect(output_('label')).toEqual(expected.label);
      output_('probability').forEach((p, i) => expect(p).toBeCloseTo(expected.probability[i]!, 6));
    } finally {
      expect(await dev.stop()).toBe(0);
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 300_000);
});
