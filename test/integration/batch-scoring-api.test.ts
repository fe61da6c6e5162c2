import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../api/tokens.js';
import { defaultPolicy } from '../../core/policy.js';
import { runtimeModelName } from '../../runtimes/runtime.js';
import { steward } from '../harness/cli.js';
import { creditRows, writeCsv } from '../harness/datasets.js';
import { eventually, startTestStack, type TestApi, type TestStack } from '../harness/index.js';
import { sampleManifest, SAMPLE_MODEL } from '../harness/manifests.js';
import { sharedTestRuntime } from '../harness/runtimes.js';

/**
 * Batch scoring through the API against real parts: PostgreSQL, a Temporal dev server running the lifecycle
 * and the batch workflow, and the built-in runtime the harness worker deploys to. A version is registered,
 * approved and deployed by its lifecycle; a CSV is then scored on the compute queue and its predictions
 * compared with the runtime's own answers for the same rows.
 */

const INPUTS = SAMPLE_MODEL.features.map((name) => ({ name, type: 'number' as const }));

interface Prediction {
  row: number;
  outputs: Record<string, unknown>;
}

describe('batch scoring through the API', () => {
  let stack: TestStack;
  let api: TestApi;
  let outputDir: string;
  let engineer: string;
  let approver: string;
  let scorer: string;
  let auditor: string;
  let servingId: string;
  let idleId: string;
  let retiringId: string;
  const previousOutputDir = process.env.STEWARD_BATCH_OUTPUT_DIR;

  /** Registers a version through the API; approves it and waits for its live deployment when asked. */
  async function register(name: string, approve: boolean): Promise<string> {
    // The inputs the sample model takes, and no more: batch scoring sends every declared input field.
    const manifest = await sampleManifest({ name, inputSchema: INPUTS, protectedAttributes: [] });
    const res = await api.call('POST', '/models', { token: engineer, body: manifest });
    expect(res.status).toBe(201);
    const id = res.body.modelVersionId as string;
    if (!approve) return id;
    // The approval gate opens after testing and scanning; until then an attempt is refused as early.
    await eventually(
      `${id} approved`,
      async () => {
        const verdict = await api.call('POST', `/models/${id}/approvals`, { token: approver, body: { decision: 'approve' } });
        return verdict.status === 200 && verdict.body.verdict?.status === 'accepted' ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    await eventually(
      `${id} deployed`,
      async () =>
        (await stack.database.db.selectFrom('deployments').select('id').where('model_version_id', '=', id).where('to_time', 'is', null).executeTakeFirst()) ? true : undefined,
      { timeoutMs: 60_000 },
    );
    return id;
  }

  const startBatch = (id: string, body: unknown, options: { token?: string | undefined; key?: string } = {}) =>
    api.call('POST', `/models/${id}/batch-scoring`, {
      body,
      ...('token' in options ? (options.token ? { token: options.token } : {}) : { token: scorer }),
      ...(options.key ? { headers: { 'idempotency-key': options.key } } : {}),
    });

  /** Polls the batch until it is no longer running. */
  const finished = (id: string, batchId: string) =>
    eventually(
      `batch ${batchId} finished`,
      async () => {
        const res = await api.call('GET', `/models/${id}/batch-scoring/${batchId}`, { token: scorer });
        expect(res.status).toBe(200);
        return res.body.status === 'running' ? undefined : res.body;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );

  beforeAll(async () => {
    outputDir = await mkdtemp(join(tmpdir(), 'steward-batch-out-'));
    // The harness worker takes the batch output directory from the environment, as a deployed worker does.
    process.env.STEWARD_BATCH_OUTPUT_DIR = outputDir;
    stack = await startTestStack('batch-scoring', { policy: defaultPolicy });
    api = stack.api;
    engineer = await createApiToken(stack.database.db, 'erin', ['engineer']);
    approver = await createApiToken(stack.database.db, 'ava', ['approver:risk']);
    scorer = await createApiToken(stack.database.db, 'scoring-service', ['scorer']);
    auditor = await createApiToken(stack.database.db, 'audrey', ['auditor']);
    [servingId, idleId, retiringId] = await Promise.all([register('batch-serving', true), register('batch-idle', false), register('batch-retiring', true)]);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    if (previousOutputDir === undefined) delete process.env.STEWARD_BATCH_OUTPUT_DIR;
    else process.env.STEWARD_BATCH_OUTPUT_DIR = previousOutputDir;
    if (outputDir) await rm(outputDir, { recursive: true, force: true });
  });

  it('scores a CSV on the compute queue: the predictions are the runtime’s own answers for each row', async () => {
    // More rows than one inference request carries (256), so the file is scored in several chunks.
    const rows = creditRows({ rows: 600, seed: 12 });
    const input = await writeCsv('applications.csv', rows);
    const started = await startBatch(servingId, { inputUri: input.uri, inputSha256: input.sha256, batchId: 'applications-2026-12' });
    expect(started).toEqual({
      status: 202,
      body: { batchId: 'applications-2026-12', workflowId: `batch-scoring:${servingId}:applications-2026-12`, status: 'running' },
    });

    const done = await finished(servingId, 'applications-2026-12');
    expect(done).toMatchObject({ status: 'completed', modelVersionId: servingId, result: { rows: 600, inputSha256: input.sha256 } });
    const bytes = await readFile(fileURLToPath(done.result.outputUri));
    expect(fileURLToPath(done.result.outputUri)).toBe(join(outputDir, 'applications-2026-12.jsonl'));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(done.result.sha256);
    const predictions = bytes.toString('utf8').trim().split('\n').map((line) => JSON.parse(line) as Prediction);
    expect(predictions.map((p) => p.row)).toEqual(rows.map((_, i) => i + 1));

    // The same rows sent straight to the runtime serving the version, in one request.
    const runtime = await sharedTestRuntime();
    const direct = await fetch(`${runtime.url}/v2/models/${runtimeModelName(servingId)}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [
          { name: 'income', shape: [rows.length], datatype: 'FP64', data: rows.map((r) => r.income) },
          { name: 'debt_to_income', shape: [rows.length], datatype: 'FP64', data: rows.map((r) => r.debt_to_income) },
        ],
      }),
    });
    expect(direct.status).toBe(200);
    const answer = (await direct.json()) as { outputs: { name: string; data: unknown[] }[] };
    const expected = rows.map((_, i) => Object.fromEntries(answer.outputs.map((o) => [o.name, o.data[i]])));
    expect(predictions.map((p) => p.outputs)).toEqual(expected);

    // And what the model's document says: the logistic of the linear score, labelled at the threshold.
    const [a, b] = SAMPLE_MODEL.coefficients;
    rows.forEach((r, i) => {
      const p = 1 / (1 + Math.exp(-(SAMPLE_MODEL.intercept + a * r.income + b * r.debt_to_income)));
      expect(predictions[i]!.outputs.probability).toBeCloseTo(p, 12);
      expect(predictions[i]!.outputs.label).toBe(p >= SAMPLE_MODEL.threshold ? 1 : 0);
    });
    // Both labels occur, so the comparison above can tell a right label from a constant one.
    expect(new Set(predictions.map((p) => p.outputs.label))).toEqual(new Set([0, 1]));
  });

  it('returns the same job for a retry with the same Idempotency-Key, and refuses the key for another input', async () => {
    const input = await writeCsv('retry.csv', creditRows({ rows: 20, seed: 3 }));
    const key = `retry-${Date.now().toString(36)}`;
    const first = await startBatch(servingId, { inputUri: input.uri }, { key });
    const again = await startBatch(servingId, { inputUri: input.uri }, { key });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body.batchId).toBe(first.body.batchId);
    expect(again.body.workflowId).toBe(first.body.workflowId);
    const done = await finished(servingId, first.body.batchId);
    expect(done).toMatchObject({ status: 'completed', result: { rows: 20 } });

    // After the batch ended, the key still names it: one run of one workflow.
    const late = await startBatch(servingId, { inputUri: input.uri }, { key });
    expect(late).toMatchObject({ status: 202, body: { batchId: first.body.batchId, workflowId: first.body.workflowId, status: 'completed' } });
    const runs = [];
    for await (const w of stack.client.workflow.list({ query: `WorkflowId = '${first.body.workflowId}'` })) runs.push(w.runId);
    expect(runs).toHaveLength(1);

    const other = await writeCsv('other.csv', creditRows({ rows: 5, seed: 4 }));
    const conflict = await startBatch(servingId, { inputUri: other.uri }, { key });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toMatchObject({ code: 'batch_conflict', issues: [{ field: 'headers.idempotency-key' }] });
  });

  it('reports a file that cannot be scored as failed, naming the problem, without retrying it', async () => {
    const input = await writeCsv('no-debt.csv', [{ income: 50_000 }]);
    const started = await startBatch(servingId, { inputUri: input.uri, batchId: 'missing-column' });
    expect(started.status).toBe(202);
    const done = await finished(servingId, 'missing-column');
    expect(done.status).toBe('failed');
    expect(done.error).toContain('no column debt_to_income');
    expect(done.result).toBeUndefined();
    const history = await stack.client.workflow.getHandle(started.body.workflowId).fetchHistory();
    const attempts = history.events?.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt);
    expect(attempts).toEqual([1]);
  });

  it('refuses a version that is not serving with 409, naming why, and an unknown one with 404', async () => {
    const input = await writeCsv('idle.csv', creditRows({ rows: 3, seed: 5 }));
    const idle = await startBatch(idleId, { inputUri: input.uri, batchId: 'never' });
    expect(idle.status).toBe(409);
    expect(idle.body.error.code).toBe('not_serving');
    expect(idle.body.error.message).toMatch(new RegExp(`^${idleId} is not serving \\(stage \\w+, no live deployment\\)`));
    await expect(stack.client.workflow.getHandle(`batch-scoring:${idleId}:never`).describe()).rejects.toThrow();

    const unknown = await startBatch('no-such-model@1.0.0', { inputUri: input.uri });
    expect(unknown.status).toBe(404);
    expect((await api.call('GET', `/models/${servingId}/batch-scoring/no-such-batch`, { token: scorer })).status).toBe(404);
  });

  it('still returns a batch by its id after the version stopped serving, and starts no new one', async () => {
    const input = await writeCsv('before-retire.csv', creditRows({ rows: 4, seed: 9 }));
    const started = await startBatch(retiringId, { inputUri: input.uri, batchId: 'before-retire' });
    expect(started.status).toBe(202);
    expect(await finished(retiringId, 'before-retire')).toMatchObject({ status: 'completed', result: { rows: 4 } });

    const retire = await api.call('POST', `/models/${retiringId}/retire`, { token: engineer, body: { reason: 'replaced' } });
    expect(retire.status).toBe(202);
    // Retired: the deployment row ended and, after the routing drain, the retirement recorded.
    await eventually(
      `${retiringId} no longer deployed and retired`,
      async () => {
        const live = await stack.database.db.selectFrom('deployments').select('id').where('model_version_id', '=', retiringId).where('to_time', 'is', null).executeTakeFirst();
        const { stage } = await stack.database.db.selectFrom('model_versions').select('stage').where('id', '=', retiringId).executeTakeFirstOrThrow();
        return !live && stage === 'retire' ? true : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const retried = await startBatch(retiringId, { inputUri: input.uri, batchId: 'before-retire' });
    expect(retried).toMatchObject({ status: 202, body: { batchId: 'before-retire', workflowId: started.body.workflowId, status: 'completed' } });
    const fresh = await startBatch(retiringId, { inputUri: input.uri, batchId: 'after-retire' });
    expect(fresh.status).toBe(409);
    expect(fresh.body.error.message).toMatch(new RegExp(`^${retiringId} is not serving \\(stage retire`));
  });

  it('refuses an input the read allow-list does not cover, or a malformed body, with 400 naming the field', async () => {
    const refused = await startBatch(servingId, { inputUri: 'file:///etc/passwd' });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('uri_not_allowed');
    expect(refused.body.error.issues.map((i: { field: string }) => i.field)).toEqual(['body.inputUri']);
    expect(refused.body.error.message).toMatch(/^body\.inputUri: /);

    const malformed = await startBatch(servingId, { inputUri: 'applications.csv', inputSha256: 'abc', batchId: '../up', extra: 1 });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.issues.map((i: { field: string }) => i.field)).toEqual(
      expect.arrayContaining(['body.inputUri', 'body.inputSha256', 'body.batchId']),
    );
  });

  it('answers 401 without a token and 403 to a role that may not score', async () => {
    const input = await writeCsv('auth.csv', creditRows({ rows: 2, seed: 6 }));
    expect((await startBatch(servingId, { inputUri: input.uri }, { token: undefined })).status).toBe(401);
    expect((await api.call('GET', `/models/${servingId}/batch-scoring/applications-2026-12`)).status).toBe(401);
    expect((await startBatch(servingId, { inputUri: input.uri }, { token: auditor })).status).toBe(403);
    // An engineer may score too.
    expect((await startBatch(servingId, { inputUri: input.uri, batchId: 'by-engineer' }, { token: engineer })).status).toBe(202);
    expect(await finished(servingId, 'by-engineer')).toMatchObject({ status: 'completed', result: { rows: 2 } });
  });
  it('is run from the command line: `steward score <model> --input <path> --wait` prints the result, and fails on a failed batch', async () => {
    const input = await writeCsv('cli.csv', creditRows({ rows: 7, seed: 8 }));
    const env = { STEWARD_API: api.baseUrl, STEWARD_TOKEN: scorer };
    const ok = await steward(env, 'score', servingId, '--input', fileURLToPath(input.uri), '--batch-id', 'from-cli', '--wait');
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ batchId: 'from-cli', status: 'completed', result: { rows: 7, inputSha256: input.sha256 } });

    const bad = await writeCsv('cli-bad.csv', [{ income: 'lots', debt_to_income: 0.2 }]);
    const failed = await steward(env, 'score', servingId, '--input', bad.uri, '--wait');
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ status: 'failed', error: expect.stringContaining('row 1, column income: "lots" is not a number') });

    const idle = await steward(env, 'score', idleId, '--input', input.uri);
    expect(idle.code).toBe(1);
    expect(idle.stderr).toContain(`failed with 409: ${idleId} is not serving`);
  });
});
