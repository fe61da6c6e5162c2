import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InferenceBody, InvalidInferenceBody } from '../../api/gateway/request-body.js';
import { InferenceAnswer, summariseTensors } from '../../runtimes/answer.js';
import { firstScalars, JsonScanError, memberMap, scanDocument } from '../../runtimes/json-scan.js';
import { inferenceRequestSchema } from '../../runtimes/protocol.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');
const request = (extra: object = {}) => ({
  inputs: [
    { name: 'income', shape: [2], datatype: 'FP64', data: [42_000, 85_000] },
    { name: 'rows', shape: [2, 2], datatype: 'INT64', data: [[1, 2], [3, 4]] },
  ],
  ...extra,
});

/** What the schema says about a body, as the route answered before bodies were read as bytes. */
function schemaVerdict(text: string): string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not json';
  }
  const parsed = inferenceRequestSchema.safeParse(value);
  return parsed.success ? 'ok' : parsed.error.issues.map((i) => `${['body', ...i.path.map(String)].join('.')}: ${i.message}`).join('; ');
}

function bodyVerdict(text: string): string {
  try {
    InferenceBody.read(bytes(text));
    return 'ok';
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInferenceBody);
    const message = (err as Error).message;
    return message.startsWith('body is not JSON') ? 'not json' : message;
  }
}

describe('the JSON scanner', () => {
  it('accepts exactly what JSON.parse accepts, and spans the whole value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom('', ' ', '\n\t'), (value, ws) => {
        const text = `${ws}${JSON.stringify(value, null, ws ? 1 : undefined)}${ws}`;
        const span = scanDocument(bytes(text));
        expect(JSON.parse(bytes(text).subarray(span.start, span.end).toString())).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
    // Damaged documents: the scanner refuses whatever JSON.parse refuses.
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), fc.constantFrom('', ',', '}', ']', '"', '\\', 'x', '0', '-', '.', 'e'), (value, at, insert) => {
        const text = JSON.stringify(value);
        const i = at % (text.length + 1);
        const damaged = text.slice(0, i) + insert + text.slice(i + (insert === '' ? 1 : 0));
        let parses = true;
        try {
          JSON.parse(damaged);
        } catch {
          parses = false;
        }
        let scans = true;
        try {
          scanDocument(bytes(damaged));
        } catch (err) {
          expect(err).toBeInstanceOf(JsonScanError);
          scans = false;
        }
        expect(scans).toBe(parses);
      }),
      { numRuns: 1000 },
    );
    for (const bad of ['', '{', '[1,]', '{"a":1,}', '01', '1.', '-', '"\u0001"', '"\\x"', 'tru', '{"a" 1}', '[1] 2', '"\\u12g4"']) {
      expect(() => scanDocument(bytes(bad)), bad).toThrow(JsonScanError);
    }
  });

  it('decodes keys with escapes and keeps the last of a repeated key, as JSON.parse does', () => {
    const b = bytes('{"a":1,"\\u0062":2,"a":3}');
    const members = memberMap(b, scanDocument(b));
    expect([...members.keys()]).toEqual(['a', 'b']);
    expect(b.subarray(members.get('a')!.start, members.get('a')!.end).toString()).toBe('3');
  });

  it('reads the first values of a nested tensor without walking the rest', () => {
    const b = bytes('[[1, 2], [3, "x"], [true, null], [7, 8]] ');
    expect(firstScalars(b, { start: 0, end: b.length - 1 }, 5)).toEqual([1, 2, 3, 'x', true]);
    // Past the limit the scanner does not look: what follows may be anything.
    const tail = bytes('[1, 2, 3, @@@');
    expect(firstScalars(tail, { start: 0, end: tail.length }, 2)).toEqual([1, 2]);
  });
});

describe('an inference body read as bytes', () => {
  it('forwards the caller\'s bytes unchanged when it sent an id, and adds one first when it did not', () => {
    // INT64 beyond 2^53 and float spellings survive, as no number is parsed on the way.
    const text = '{ "id": "caller-1", "inputs": [{"name": "n", "shape": [2], "datatype": "INT64", "data": [9007199254740993, 1.50]}] }';
    const body = InferenceBody.read(bytes(text));
    expect(body.id).toBe('caller-1');
    expect(body.withId('ignored').toString()).toBe(text);

    const anonymous = ' {"inputs": [{"name": "n", "shape": [1], "datatype": "INT64", "data": [9007199254740993]}]}';
    const generated = InferenceBody.read(bytes(anonymous));
    expect(generated.id).toBeUndefined();
    const forwarded = generated.withId('gen-1').toString();
    expect(forwarded).toBe('{"id":"gen-1","inputs": [{"name": "n", "shape": [1], "datatype": "INT64", "data": [9007199254740993]}]}');
    expect(JSON.parse(forwarded)).toMatchObject({ id: 'gen-1' });
    expect(generated.parsed().inputs[0]!.name).toBe('n');
  });

  it('refuses what the protocol\'s schema refuses, with the same message naming the field', () => {
    const cases = [
      JSON.stringify({ inputs: [] }),
      JSON.stringify({ inputs: [{ name: 'income', shape: [1], datatype: 'FP65', data: [1] }] }),
      JSON.stringify({ inputs: [{ name: '', shape: [1], datatype: 'FP64', data: [1] }] }),
      JSON.stringify({ inputs: [{ name: 'x', shape: [-1], datatype: 'FP64', data: [1] }] }),
      JSON.stringify({ inputs: [{ name: 'x', shape: [1.5], datatype: 'FP64', data: [1] }] }),
      JSON.stringify({ inputs: [{ name: 'x', shape: [1], datatype: 'FP64', data: 1 }] }),
      JSON.stringify({ inputs: [{ name: 'x', shape: [1], datatype: 'FP64' }] }),
      JSON.stringify({ inputs: [{ name: 'x', shape: Array(17).fill(1), datatype: 'FP64', data: [] }] }),
      JSON.stringify({ inputs: [{ name: 'x', shape: [1], datatype: 'FP64', data: [1], parameters: [] }] }),
      JSON.stringify({ ...request(), id: 7 }),
      JSON.stringify({ ...request(), id: 'x'.repeat(257) }),
      JSON.stringify({ ...request(), parameters: null }),
      JSON.stringify({ ...request(), outputs: [{ name: '' }] }),
      JSON.stringify({ ...request(), outputs: {} }),
      JSON.stringify([request()]),
      '{"inputs": [',
      '',
      'null',
    ];
    for (const text of cases) {
      const verdict = schemaVerdict(text);
      expect(verdict, text).not.toBe('ok');
      expect(bodyVerdict(text), text).toBe(verdict);
    }
    expect(bodyVerdict(JSON.stringify({ inputs: [] }))).toBe('body.inputs: at least one input tensor is required');
    expect(bodyVerdict(JSON.stringify({ inputs: [{ name: 'income', shape: [1], datatype: 'FP65', data: [1] }] }))).toMatch(/^body\.inputs\.0\.datatype: /);
  });

  it('agrees with the schema on generated bodies, valid or not', () => {
    const tensor = fc.record(
      {
        name: fc.oneof(fc.string({ maxLength: 4 }), fc.constant(7)),
        shape: fc.oneof(fc.array(fc.oneof(fc.nat(4), fc.constant(-1), fc.constant(0.5)), { maxLength: 3 }), fc.constant('2')),
        datatype: fc.constantFrom('FP32', 'INT64', 'BYTES', 'fp32', 3),
        data: fc.oneof(fc.array(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.array(fc.integer(), { maxLength: 3 })), { maxLength: 4 }), fc.constant({})),
        parameters: fc.oneof(fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }), fc.constant(null)),
      },
      { requiredKeys: ['name', 'shape', 'datatype', 'data'] },
    );
    const body = fc.record(
      { id: fc.oneof(fc.string({ maxLength: 5 }), fc.constant(null)), inputs: fc.array(tensor, { maxLength: 3 }), outputs: fc.array(fc.record({ name: fc.string({ maxLength: 3 }) }), { maxLength: 2 }), extra: fc.jsonValue({ maxDepth: 1 }) },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(body, (value) => {
        const text = JSON.stringify(value);
        expect(bodyVerdict(text)).toBe(schemaVerdict(text));
      }),
      { numRuns: 500 },
    );
  });
});

describe('a runtime\'s answer read as bytes', () => {
  const runtimeAnswer =
    '{"model_name":"credit-scorer-v1.0.0","model_version":"1.0.0","id":"r-1","parameters":{"content_type":"np"},' +
    '"outputs":[{"name":"label","shape":[3],"datatype":"INT64","data":[9007199254740993,0,1]},{"name":"probability","shape":[3,2],"datatype":"FP32","data":[[0.1,0.9],[1.0,0.0],[1e-7,0.5]]}]}';

  it('answers with the runtime\'s outputs byte for byte and its own envelope', () => {
    const answer = InferenceAnswer.scan(bytes(runtimeAnswer));
    const rewritten = answer.rewrite({ model_name: 'credit-scorer', model_version: '1.0.0', id: 'caller-1' }).toString();
    const outputs = runtimeAnswer.slice(runtimeAnswer.indexOf('"outputs":'), -1);
    expect(rewritten).toBe(`{"model_name":"credit-scorer","model_version":"1.0.0","id":"caller-1","parameters":{"content_type":"np"},${outputs}}`);
    // INT64 beyond 2^53 and the runtime's float spellings (1.0, 1e-7) reach the caller as the runtime wrote them.
    expect(rewritten).toContain('9007199254740993');
    expect(rewritten).toContain('[1.0,0.0],[1e-7,0.5]');
  });

  it('summarises outputs from the bytes as the request log always has', () => {
    const answer = InferenceAnswer.scan(bytes(runtimeAnswer));
    expect(answer.outputsSummary()).toEqual(summariseTensors(answer.parsed().outputs));
    const wide = { model_name: 'm', outputs: [{ name: 'p', shape: [10, 2], datatype: 'FP64' as const, data: Array.from({ length: 10 }, (_, i) => [i, i + 0.5]) }] };
    expect(InferenceAnswer.scan(bytes(JSON.stringify(wide))).outputsSummary()).toEqual(summariseTensors(wide.outputs));
    expect(InferenceAnswer.scan(bytes(JSON.stringify(wide))).outputsSummary()[0]).toMatchObject({ truncated: 20 });
    // Outputs not shaped as the protocol says cost the summary, not the request.
    expect(InferenceAnswer.scan(bytes('{"outputs":[1,2]}')).outputsSummary()).toEqual([]);
  });

  it('refuses an answer without outputs or that is not JSON', () => {
    for (const bad of ['{"model_name":"m"}', '{"outputs":{}}', '[]', '{"outputs":[', 'oops']) expect(() => InferenceAnswer.scan(bytes(bad)), bad).toThrow(JsonScanError);
  });
});

describe('first values of a tensor', () => {
  it('match the built tensor\'s, whatever the nesting, empty rows and strings', () => {
    const scalar = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.string({ maxLength: 3 }), fc.boolean(), fc.constant(null));
    const tensor = fc.array(fc.oneof(scalar, fc.array(fc.oneof(scalar, fc.array(scalar, { maxLength: 3 })), { maxLength: 3 })), { maxLength: 6 });
    fc.assert(
      fc.property(tensor, fc.integer({ min: 1, max: 16 }), (data, limit) => {
        const text = JSON.stringify(data);
        const b = bytes(text);
        // Built from what the wire carries: JSON writes -0 as 0, and the scan only ever sees the text.
        const expected = summariseTensors([{ name: 't', shape: [1], datatype: 'BYTES', data: JSON.parse(text) }])[0]!.data.slice(0, limit);
        expect(firstScalars(b, scanDocument(b), limit)).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});
