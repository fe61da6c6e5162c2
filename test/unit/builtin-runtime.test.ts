import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuiltinRuntime, type BuiltinRuntime } from '../../runtimes/builtin/server.js';
import { BUILTIN_IMPLEMENTATIONS } from '../../runtimes/runtime.js';
import type { InferenceResponse, RepositoryEntry } from '../../runtimes/protocol.js';

/**
 * The built-in runtime as a client drives it: the real server on a loopback port over a temporary
 * repository, written the way Steward's deploy writes MLServer's (a folder per model with its
 * model-settings.json and artifacts), and every V2 endpoint called over HTTP.
 */

const expected = JSON.parse(readFileSync('examples/credit-scorer/expected-predictions.json', 'utf8')) as {
  features: string[];
  rows: number[][];
  label: number[];
  probability: number[];
};
const scorerRequest = JSON.parse(readFileSync('examples/credit-scorer/request.json', 'utf8')) as { inputs: unknown[] };

const SCORER = 'credit-scorer-v1.0.0';
const RULES = 'credit-decision-v1.0.0';
const LINEAR = 'limit-v2.0.0';

let repository: string;
let runtime: BuiltinRuntime;

async function writeModel(name: string, settings: Record<string, unknown>, files: Record<string, string>): Promise<void> {
  const folder = join(repository, name);
  await mkdir(folder, { recursive: true });
  for (const [file, source] of Object.entries(files)) await copyFile(source, join(folder, file));
  await writeFile(join(folder, 'model-settings.json'), JSON.stringify({ name, ...settings }));
}

async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: unknown; text: string }> {
  const response = await fetch(`${runtime.url}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.text();
  return { status: response.status, text, json: text ? (JSON.parse(text) as unknown) : undefined };
}

const index = async (body: unknown = {}) => (await call('POST', '/v2/repository/index', body)).json as RepositoryEntry[];
const load = (name: string) => call('POST', `/v2/repository/models/${name}/load`);
const infer = (name: string, body: unknown) => call('POST', `/v2/models/${name}/infer`, body);

beforeAll(async () => {
  repository = await mkdtemp(join(tmpdir(), 'steward-builtin-'));
  const numberField = (name: string) => ({ name, datatype: 'FP64', shape: [-1] });
  await writeModel(
    SCORER,
    { implementation: BUILTIN_IMPLEMENTATIONS.onnx, parameters: { uri: './model.onnx', version: '1.0.0' }, inputs: expected.features.map(numberField) },
    { 'model.onnx': 'examples/credit-scorer/model.onnx' },
  );
  await writeModel(
    RULES,
    {
      implementation: BUILTIN_IMPLEMENTATIONS.rules,
      parameters: { uri: './model.json', version: '1.0.0' },
      inputs: [numberField('income'), numberField('debt_to_income'), { name: 'age_band', datatype: 'BYTES', shape: [-1] }],
      outputs: [{ name: 'decision', datatype: 'BYTES', shape: [-1] }],
    },
    { 'model.json': 'examples/credit-model/model.json' },
  );
  await mkdir(join(repository, LINEAR));
  await writeFile(
    join(repository, LINEAR, 'limit.json'),
    JSON.stringify({ kind: 'linear', features: ['income', 'debt_to_income'], coefficients: [0.1, -5000], intercept: 1000 }),
  );
  await writeFile(join(repository, LINEAR, 'model-settings.json'), JSON.stringify({ name: LINEAR, implementation: BUILTIN_IMPLEMENTATIONS.linear, parameters: { uri: './limit.json', version: '2.0.0' } }));
  runtime = await startBuiltinRuntime({ repository, port: 0 });
});

afterAll(async () => {
  await runtime?.close();
  await rm(repository, { recursive: true, force: true });
});

describe('built-in runtime over HTTP', () => {
  it('is live and ready, and indexes the repository with nothing loaded as UNAVAILABLE', async () => {
    expect((await call('GET', '/v2/health/live')).status).toBe(200);
    expect((await call('GET', '/v2/health/ready')).status).toBe(200);
    expect(await index()).toEqual([
      { name: RULES, version: '1.0.0', state: 'UNAVAILABLE', reason: '' },
      { name: SCORER, version: '1.0.0', state: 'UNAVAILABLE', reason: '' },
      { name: LINEAR, version: '2.0.0', state: 'UNAVAILABLE', reason: '' },
    ]);
    expect(await index({ ready: true })).toEqual([]);
  });

  it('loading twice keeps one READY copy; ready and metadata answer for it', async () => {
    expect(await load(SCORER)).toMatchObject({ status: 200, text: '' });
    expect(await load(SCORER)).toMatchObject({ status: 200, text: '' });
    const rows = (await index()).filter((r) => r.name === SCORER);
    expect(rows).toEqual([{ name: SCORER, version: '1.0.0', state: 'READY', reason: '' }]);
    expect(await index({ ready: true })).toEqual(rows);
    expect((await call('GET', `/v2/models/${SCORER}/ready`)).status).toBe(200);
    expect((await call('GET', `/v2/models/${SCORER}/versions/1.0.0/ready`)).status).toBe(200);
    expect(await call('GET', `/v2/models/${SCORER}/versions/9.9.9/ready`)).toMatchObject({ status: 404, json: { error: `Model ${SCORER} with version 9.9.9 not found` } });
    expect((await call('GET', `/v2/models/${SCORER}`)).json).toEqual({
      name: SCORER,
      versions: ['1.0.0'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 5] }],
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [-1] },
        { name: 'probability', datatype: 'FP32', shape: [-1] },
      ],
    });
  });

  it('ONNX: the example request scores as scikit-learn did (labels equal, probabilities within 1e-6)', async () => {
    const { status, json } = await infer(SCORER, scorerRequest);
    expect(status).toBe(200);
    const response = json as InferenceResponse;
    expect(response).toMatchObject({ model_name: SCORER, model_version: '1.0.0', id: 'credit-scorer-example' });
    const byName = Object.fromEntries(response.outputs.map((o) => [o.name, o]));
    expect(byName.label).toMatchObject({ datatype: 'INT64', shape: [8], data: expected.label });
    expect(byName.probability).toMatchObject({ datatype: 'FP32', shape: [8] });
    const probabilities = byName.probability?.data as number[];
    probabilities.forEach((p, i) => expect(Math.abs(p - (expected.probability[i] as number))).toBeLessThan(1e-6));
  });

  it('ONNX: one tensor per declared field scores the same, and only the requested outputs come back', async () => {
    const inputs = expected.features.map((name, j) => ({ name, shape: [expected.rows.length], datatype: 'FP64', data: expected.rows.map((r) => r[j]) }));
    const { status, json } = await call('POST', `/v2/models/${SCORER}/versions/1.0.0/infer`, { inputs, outputs: [{ name: 'probability' }] });
    expect(status).toBe(200);
    const response = json as InferenceResponse;
    expect(response.outputs.map((o) => o.name)).toEqual(['probability']);
    expect(typeof response.id).toBe('string');
    (response.outputs[0]?.data as number[]).forEach((p, i) => expect(Math.abs(p - (expected.probability[i] as number))).toBeLessThan(1e-6));
  });

  it('rules: the example rules decide per row; a value of the wrong type is a 400 naming the row and rule', async () => {
    expect((await load(RULES)).status).toBe(200);
    const perField = await infer(RULES, {
      inputs: [
        { name: 'income', shape: [3], datatype: 'FP64', data: [50_000, 20_000, 90_000] },
        { name: 'debt_to_income', shape: [3, 1], datatype: 'FP64', data: [[0.2], [0.6], [0.45]] },
        { name: 'age_band', shape: [3], datatype: 'BYTES', data: ['26-40', '18-25', '65+'] },
      ],
    });
    expect(perField.status).toBe(200);
    expect((perField.json as InferenceResponse).outputs).toEqual([{ name: 'decision', datatype: 'BYTES', shape: [3], data: ['approve', 'decline', 'approve'] }]);
    // A matrix holds one datatype: here all strings, so debt_to_income is text where the rule compares numbers.
    const matrix = await infer(RULES, { inputs: [{ name: 'x', shape: [2, 3], datatype: 'BYTES', data: [['1', '0.1', '18-25'], ['1', '0.5', '18-25']] }] });
    expect(matrix).toMatchObject({ status: 400, json: { error: 'row 0: rule "debt_to_income > 0.45": Expected a number, but got a text instead.' } });
  });

  it('linear: scores from a JSON-declared model', async () => {
    expect((await load(LINEAR)).status).toBe(200);
    const { status, json } = await infer(LINEAR, { inputs: [{ name: 'input-0', shape: [2, 2], datatype: 'FP64', data: [50_000, 0.2, 10_000, 0.5] }] });
    expect(status).toBe(200);
    expect((json as InferenceResponse).outputs).toEqual([{ name: 'score', datatype: 'FP64', shape: [2], data: [5000, -500] }]);
    expect((await call('GET', `/v2/models/${LINEAR}`)).json).toMatchObject({ platform: 'steward_linear', versions: ['2.0.0'] });
  });

  it('a second load reloads in place: the changed artifact scores, still one READY copy', async () => {
    await writeFile(
      join(repository, LINEAR, 'limit.json'),
      JSON.stringify({ kind: 'linear', features: ['income', 'debt_to_income'], coefficients: [0.2, -5000], intercept: 0 }),
    );
    expect((await load(LINEAR)).status).toBe(200);
    const { json } = await infer(LINEAR, { inputs: [{ name: 'input-0', shape: [1, 2], datatype: 'FP64', data: [50_000, 0.2] }] });
    expect((json as InferenceResponse).outputs[0]?.data).toEqual([9000]);
    expect((await index()).filter((r) => r.name === LINEAR)).toEqual([{ name: LINEAR, version: '2.0.0', state: 'READY', reason: '' }]);
  });

  it('concurrent loads of one name all succeed and leave one READY copy', async () => {
    const answers = await Promise.all([load(RULES), load(RULES), load(RULES)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect((await index()).filter((r) => r.name === RULES)).toEqual([{ name: RULES, version: '1.0.0', state: 'READY', reason: '' }]);
  });

  it('ONNX without declared fields takes only the [N, F] tensor, and says so', async () => {
    await mkdir(join(repository, 'bare-scorer'));
    await copyFile('examples/credit-scorer/model.onnx', join(repository, 'bare-scorer', 'model.onnx'));
    await writeFile(join(repository, 'bare-scorer', 'model-settings.json'), JSON.stringify({ implementation: BUILTIN_IMPLEMENTATIONS.onnx, parameters: { uri: './model.onnx' } }));
    expect((await load('bare-scorer')).status).toBe(200);
    expect((await infer('bare-scorer', scorerRequest)).status).toBe(200);
    const perField = await infer('bare-scorer', { inputs: [{ name: 'income', shape: [1], datatype: 'FP64', data: [1] }] });
    expect(perField).toMatchObject({ status: 400, json: { error: expect.stringContaining('send one tensor of shape [-1, 5] (input features)') } });
    expect((await call('POST', '/v2/repository/models/bare-scorer/unload')).status).toBe(200);
  });

  it('bad tensors are 400s naming the input and the problem', async () => {
    const cases: [unknown, string][] = [
      [{ inputs: [{ name: 'features', shape: [1, 5], datatype: 'FP32', data: [1, 2, 3] }] }, 'input features: shape [1, 5] needs 5 values, got 3'],
      [{ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, "input features: shape [1, 4] does not fit the model's [-1, 5] (-1: any size)"],
      [{ inputs: [{ name: 'features', shape: [1, 5], datatype: 'FP32', data: [1, 2, 'x', 4, 5] }] }, 'input features: value 2 ("x") is not a finite number (FP32)'],
      [{ inputs: [{ name: 'income', shape: [1], datatype: 'FP64', data: [1] }] }, 'input debt_to_income, credit_utilization, years_employed, late_payments is missing'],
      [{ inputs: [] }, 'inputs: at least one input tensor is required'],
      [{ inputs: [{ name: 'features', shape: [1, 5], datatype: 'FLOAT', data: [1, 2, 3, 4, 5] }] }, 'inputs.0.datatype'],
      [{ ...scorerRequest, outputs: [{ name: 'nope' }] }, 'output nope is not an output of this model (outputs: label, probability)'],
      [null, 'body: '],
      [{ inputs: [{ name: 'features', shape: [1, 5], datatype: 'FP32', data: [[[[1, 2, 3, 4, 5]]]] }] }, 'input features: shape [1, 5] needs 5 values, got 1'],
      [{ inputs: [{ name: 'features', shape: [1, 5], datatype: 'INT64', data: [1, 2, 3, 4, 5.5] }] }, 'input features: value 4 (5.5) is not an integer (INT64)'],
    ];
    for (const [body, message] of cases) {
      const { status, json } = await infer(SCORER, body);
      expect({ status, body: JSON.stringify(body).slice(0, 80) }).toEqual({ status: 400, body: JSON.stringify(body).slice(0, 80) });
      expect((json as { error: string }).error).toContain(message);
    }
    const missing = await infer(RULES, { inputs: [{ name: 'income', shape: [1], datatype: 'FP64', data: [1] }] });
    expect(missing).toMatchObject({ status: 400, json: { error: 'input debt_to_income is missing (rule "debt_to_income > 0.45" reads it)' } });
    const notJson = await fetch(`${runtime.url}/v2/models/${SCORER}/infer`, { method: 'POST', body: '{"inputs": [', headers: { 'content-type': 'application/json' } });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: string }).error).toMatch(/^the body is not JSON/);
  });

  it('a request body sent as a form (curl -d @request.json) is read as JSON', async () => {
    const response = await fetch(`${runtime.url}/v2/models/${SCORER}/infer`, { method: 'POST', body: JSON.stringify(scorerRequest), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(response.status).toBe(200);
  });

  it('unknown models are 404 on every endpoint, in MLServer words', async () => {
    const notFound = { status: 404, json: { error: 'Model nope not found' } };
    expect(await call('GET', '/v2/models/nope')).toMatchObject(notFound);
    expect(await call('GET', '/v2/models/nope/ready')).toMatchObject(notFound);
    expect(await infer('nope', scorerRequest)).toMatchObject(notFound);
    expect(await load('nope')).toMatchObject(notFound);
    expect(await call('POST', '/v2/repository/models/nope/unload')).toMatchObject(notFound);
  });

  it('a model that cannot load is a 400 with the reason and shows LOADFAILED', async () => {
    await mkdir(join(repository, 'broken'));
    await writeFile(join(repository, 'broken', 'rules.json'), JSON.stringify({ kind: 'rules', rules: [{ if: 'x >', then: 'a' }, { else: 'b' }] }));
    await writeFile(join(repository, 'broken', 'model-settings.json'), JSON.stringify({ implementation: BUILTIN_IMPLEMENTATIONS.rules, parameters: { uri: './rules.json' } }));
    const { status, json } = await load('broken');
    expect(status).toBe(400);
    expect((json as { error: string }).error).toMatch(/^Model broken could not be loaded: rules\[0\]\.if: /);
    expect((await index()).find((r) => r.name === 'broken')).toMatchObject({ state: 'LOADFAILED' });
  });

  it('unload: the index shows UNAVAILABLE, infer is 404, and a second unload is 404 as in MLServer', async () => {
    expect(await call('POST', `/v2/repository/models/${SCORER}/unload`)).toMatchObject({ status: 200, text: '' });
    expect((await index()).find((r) => r.name === SCORER)).toEqual({ name: SCORER, version: '1.0.0', state: 'UNAVAILABLE', reason: '' });
    expect(await infer(SCORER, scorerRequest)).toMatchObject({ status: 404, json: { error: `Model ${SCORER} not found` } });
    expect(await call('GET', `/v2/models/${SCORER}/ready`)).toMatchObject({ status: 404 });
    expect(await call('POST', `/v2/repository/models/${SCORER}/unload`)).toMatchObject({ status: 404, json: { error: `Model ${SCORER} not found` } });
    // Loadable again after an unload.
    expect((await load(SCORER)).status).toBe(200);
    expect((await infer(SCORER, scorerRequest)).status).toBe(200);
  });

  it('unknown routes are 404 with an error body', async () => {
    expect(await call('GET', '/v2/nothing')).toMatchObject({ status: 404, json: { error: 'no route GET /v2/nothing' } });
  });
});
