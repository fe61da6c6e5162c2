import * as ort from 'onnxruntime-node';
import type { Datatype, InferenceRequest, Tensor, TensorMetadata } from '../protocol.js';
import { badRequest } from './errors.js';
import type { LoadedModel } from './model.js';
import { flatValues, toColumns, type Value } from './tensors.js';

/**
 * An ONNX model on onnxruntime-node. Requests either name the session's inputs (one tensor each, any
 * shape the graph accepts) or, for a graph with one [N, F] input, use the built-in conventions: one [N, F]
 * tensor under any name, or one tensor per input field when model-settings.json declares the fields
 * (`inputs`, in column order). Outputs are the session's outputs, under their own names.
 */

const ORT_TO_V2: Record<string, Datatype> = {
  float32: 'FP32',
  float64: 'FP64',
  float16: 'FP16',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  bool: 'BOOL',
  string: 'BYTES',
};

interface GraphInput {
  readonly name: string;
  readonly type: ort.Tensor.Type;
  /** -1 for a dimension the graph leaves open. */
  readonly shape: readonly number[];
}

const dims = (shape: ReadonlyArray<number | string>): number[] => shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));

export class OnnxModel implements LoadedModel {
  readonly platform = 'onnxruntime_onnx';
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
  private readonly graphInputs: readonly GraphInput[];
  private readonly byName: ReadonlyMap<string, GraphInput>;
  /** The fields of the single [N, F] input, when declared. */
  private readonly fields: readonly string[] | undefined;
  private readonly outputNames: ReadonlySet<string>;

  private constructor(
    private readonly session: ort.InferenceSession,
    declaredInputs: readonly TensorMetadata[] | undefined,
  ) {
    this.graphInputs = session.inputMetadata.map((m) => {
      if (!m.isTensor) throw new Error(`input ${m.name} is not a tensor; only tensor inputs are supported`);
      if (!ORT_TO_V2[m.type]) throw new Error(`input ${m.name} has type ${m.type}, which this runtime does not feed`);
      return { name: m.name, type: m.type, shape: dims(m.shape) };
    });
    this.byName = new Map(this.graphInputs.map((i) => [i.name, i]));
    const single = this.graphInputs.length === 1 ? this.graphInputs[0] : undefined;
    const width = single?.shape.length === 2 ? single.shape[1] : undefined;
    if (declaredInputs && single && width !== undefined && (width === -1 || width === declaredInputs.length)) {
      this.fields = declaredInputs.map((i) => i.name);
    }
    this.inputs = this.graphInputs.map((i) => ({ name: i.name, datatype: ORT_TO_V2[i.type] as Datatype, shape: i.shape }));
    this.outputs = session.outputMetadata.map((m) =>
      m.isTensor ? { name: m.name, datatype: ORT_TO_V2[m.type] ?? m.type, shape: dims(m.shape) } : { name: m.name, datatype: 'UNSUPPORTED', shape: [] },
    );
    this.outputNames = new Set(session.outputNames);
  }

  static async load(path: string, declaredInputs?: readonly TensorMetadata[]): Promise<OnnxModel> {
    const session = await ort.InferenceSession.create(path, { graphOptimizationLevel: 'all', executionMode: 'sequential', intraOpNumThreads: 1 });
    try {
      return new OnnxModel(session, declaredInputs);
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  async infer(request: InferenceRequest): Promise<Tensor[]> {
    const feeds = this.feeds(request.inputs);
    const fetches = request.outputs?.length ? request.outputs.map((o) => o.name) : undefined;
    for (const name of fetches ?? []) {
      if (!this.outputNames.has(name)) throw badRequest(`output ${name} is not an output of this model (outputs: ${[...this.outputNames].join(', ')})`);
    }
    let results: ort.InferenceSession.ReturnType;
    try {
      results = fetches ? await this.session.run(feeds, fetches) : await this.session.run(feeds);
    } catch (err) {
      // The graph refused what it was fed (a shape or type the checks above could not know).
      throw badRequest(`the model could not score this request: ${(err as Error).message.split('\n')[0]}`);
    }
    return (fetches ?? this.session.outputNames).map((name) => toV2(name, results[name] as ort.Tensor));
  }

  private feeds(inputs: readonly Tensor[]): Record<string, ort.Tensor> {
    const single = this.graphInputs.length === 1 ? this.graphInputs[0] : undefined;
    const direct = inputs.every((t) => this.byName.has(t.name));
    if (single && !(inputs.length === 1 && direct)) {
      // One [N, F] input: a matrix under any name, or one tensor per declared field.
      const only = inputs.length === 1 ? inputs[0] : undefined;
      if (only && only.shape.length === single.shape.length && !this.fields?.includes(only.name)) {
        return { [single.name]: toOrt(single, only.name, flatValues(only), only.shape) };
      }
      const fields = this.fields;
      if (!fields) {
        throw badRequest(
          `send one tensor of shape [${single.shape.join(', ')}] (input ${single.name}): this model's model-settings.json declares no input fields to read one tensor per field`,
        );
      }
      const { rows, columns } = toColumns(inputs, fields, true);
      const values = new Array<Value>(rows * fields.length);
      fields.forEach((field, j) => {
        const column = columns.get(field) as readonly Value[];
        for (let i = 0; i < rows; i += 1) values[i * fields.length + j] = column[i] as Value;
      });
      return { [single.name]: toOrt(single, single.name, values, [rows, fields.length]) };
    }
    const feeds: Record<string, ort.Tensor> = {};
    for (const tensor of inputs) {
      const input = this.byName.get(tensor.name);
      if (!input) throw badRequest(`input ${tensor.name} is not an input of this model (inputs: ${[...this.byName.keys()].join(', ')})`);
      feeds[input.name] = toOrt(input, tensor.name, flatValues(tensor), tensor.shape);
    }
    const missing = this.graphInputs.filter((i) => !(i.name in feeds)).map((i) => i.name);
    if (missing.length > 0) throw badRequest(`input ${missing.join(', ')} is missing (inputs: ${[...this.byName.keys()].join(', ')})`);
    return feeds;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** A request tensor as the graph's input type, after checking its rank and fixed dimensions. */
function toOrt(input: GraphInput, name: string, values: readonly Value[], shape: readonly number[]): ort.Tensor {
  if (input.shape.length > 0 && (shape.length !== input.shape.length || input.shape.some((d, i) => d !== -1 && d !== shape[i]))) {
    throw badRequest(`input ${name}: shape [${shape.join(', ')}] does not fit the model's [${input.shape.join(', ')}] (-1: any size)`);
  }
  return new ort.Tensor(input.type, typedData(input.type, name, values), [...shape]);
}

function typedData(type: ort.Tensor.Type, name: string, values: readonly Value[]): ort.Tensor.DataType {
  if (type === 'string') {
    if (values.some((v) => typeof v !== 'string')) throw badRequest(`input ${name}: the model takes strings (BYTES)`);
    return values as string[];
  }
  const numbers = values.map((v, i) => {
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (typeof v !== 'number') throw badRequest(`input ${name}: value ${i} (${JSON.stringify(v)}) is not a number; the model takes ${ORT_TO_V2[type]}`);
    return v;
  });
  switch (type) {
    case 'float32':
      return Float32Array.from(numbers);
    case 'float64':
      return Float64Array.from(numbers);
    case 'int64':
    case 'uint64': {
      if (numbers.some((n) => !Number.isInteger(n))) throw badRequest(`input ${name}: the model takes integers (${ORT_TO_V2[type]})`);
      return type === 'int64' ? BigInt64Array.from(numbers, BigInt) : BigUint64Array.from(numbers, BigInt);
    }
    case 'int32':
      return Int32Array.from(numbers);
    case 'int16':
      return Int16Array.from(numbers);
    case 'int8':
      return Int8Array.from(numbers);
    case 'uint32':
      return Uint32Array.from(numbers);
    case 'uint16':
      return Uint16Array.from(numbers);
    case 'uint8':
    case 'bool':
      return Uint8Array.from(numbers);
    default:
      throw badRequest(`input ${name}: the model takes ${type}, which this runtime does not feed`);
  }
}

function toV2(name: string, tensor: ort.Tensor): Tensor {
  const data = tensor.data;
  let values: unknown[];
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) values = Array.from(data, Number);
  else if (tensor.type === 'bool') values = Array.from(data as Uint8Array, (v) => v !== 0);
  else if (Array.isArray(data)) values = data;
  else values = Array.from(data as ArrayLike<number>);
  return { name, datatype: ORT_TO_V2[tensor.type] ?? 'BYTES', shape: [...tensor.dims], data: values };
}
