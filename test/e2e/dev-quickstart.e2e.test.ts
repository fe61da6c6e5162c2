import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { steward } from '../harness/cli.js';
import { eventually } from '../harness/index.js';
import { freePort } from '../harness/postgres-cluster.js';

/**
 * The README's first command as a new user follows it: `npm run dev` with no Python and no services, the example
 * ONNX model registered and approved with the printed commands, then `curl` to the scoring gateway returns the
 * predictions scikit-learn made for the same rows (examples/credit-scorer/train.py saved them).
 */
describe('steward dev quick start', () => {
  it('deploys the example ONNX model to the built-in runtime after approval, and the gateway scores it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'steward-quickstart-'));
    const [port, temporalPort, runtimePort] = [await freePort(), await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), STEWARD_DATA_DIR: dataDir, TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`, STEWARD_RUNTIME_PORT: String(runtimePort) };
    delete env.DATABASE_URL;
    delete env.STEWARD_RUNTIMES;
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'dev'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually('steward dev to print its tokens', async () => (/Press Ctrl\+C/.test(output) ? true : undefined), { timeoutMs: 120_000, intervalMs: 200 }).catch((err) => {
        throw new Error(`${err}\n${output}`);
      });
      const api = `http://127.0.0.1:${port}`;
      expect(output).toContain(`Runtime:      built-in, http://127.0.0.1:${runtimePort}`);
      const token = (principal: string) => new RegExp(`${principal}\\s+\\S+\\s+(stw_\\S+)`).exec(output)![1]!;
      const cli = (who: string, ...args: string[]) => steward({ STEWARD_API: api, STEWARD_TOKEN: token(who) }, ...args);

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
        const res = await fetch(`${api}/v2/models/credit-scorer/infer`, { method: 'POST', headers: { authorization: `Bearer ${token('dev-engineer')}`, 'content-type': 'application/json' }, body: request });
        return res.status === 200 ? ((await res.json()) as { model_name: string; model_version: string; id: string; outputs: { name: string; data: number[] }[] }) : undefined;
      }, { timeoutMs: 90_000, intervalMs: 500 });
      expect(body).toMatchObject({ model_name: 'credit-scorer', model_version: '1.0.0', id: 'credit-scorer-example' });
      const output_ = (name: string) => body.outputs.find((o) => o.name === name)!.data;
      expect(output_('label')).toEqual(expected.label);
      output_('probability').forEach((p, i) => expect(p).toBeCloseTo(expected.probability[i]!, 6));
    } finally {
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 300_000);
});
