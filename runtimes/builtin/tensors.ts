import type { Datatype, Tensor } from '../protocol.js';
import { badRequest } from './errors.js';

/**
 * Request tensors as the built-in models read them. Two conventions are accepted:
 *  - one tensor of shape [N, F] whose columns are the model's input fields in order (any name), or
 *  - one tensor per input field, named after it, of shape [N] or [N, 1].
 * Strings and categories travel as BYTES (JSON strings), numbers as any numeric datatype, booleans as BOOL.
 */

export type Value = number | string | boolean;

/** The request's inputs as N rows of columns, one column per field (field name → N values). */
export interface Columns {
  readonly rows: number;
  readonly columns: ReadonlyMap<string, readonly Value[]>;
}

const NUMERIC = new Set<Datatype>(['UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64']);

export function isNumericDatatype(datatype: string): boolean {
  return NUMERIC.has(datatype as Datatype);
}

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * The tensor's values, flat and row-major, checked against its shape and datatype: numbers for numeric
 * datatypes, strings for BYTES, booleans (or 0/1) for BOOL.
 */
export function flatValues(tensor: Tensor): Value[] {
  const data = Array.isArray(tensor.data[0]) ? (tensor.data.flat(tensor.shape.length) as unknown[]) : tensor.data;
  const expected = elementCount(tensor.shape);
  if (data.length !== expected) {
    throw badRequest(`input ${tensor.name}: shape [${tensor.shape.join(', ')}] needs ${expected} values, got ${data.length}`);
  }
  const check = valueCheck(tensor.datatype);
  for (let i = 0; i < data.length; i += 1) {
    if (!check(data[i])) {
      throw badRequest(`input ${tensor.name}: value ${i} (${JSON.stringify(data[i]) ?? String(data[i])}) is not ${describe(tensor.datatype)}`);
    }
  }
  return data as Value[];
}

function valueCheck(datatype: Datatype): (v: unknown) => boolean {
  if (datatype === 'BYTES') return (v) => typeof v === 'string';
  if (datatype === 'BOOL') return (v) => typeof v === 'boolean' || v === 0 || v === 1;
  if (datatype.startsWith('FP')) return (v) => typeof v === 'number' && Number.isFinite(v);
  return (v) => typeof v === 'number' && Number.isInteger(v);
}

function describe(datatype: Datatype): string {
  if (datatype === 'BYTES') return 'a string (BYTES)';
  if (datatype === 'BOOL') return 'a boolean (BOOL)';
  if (datatype.startsWith('FP')) return `a finite number (${datatype})`;
  return `an integer (${datatype})`;
}

/**
 * Columns by field from either convention. `fields` is the model's input order; without it only the
 * one-tensor-per-field form can be read. Every field must be present when `requireAll`.
 */
export function toColumns(inputs: readonly Tensor[], fields: readonly string[] | undefined, requireAll: boolean): Columns {
  const fieldSet = fields ? new Set(fields) : undefined;
  const only = inputs.length === 1 ? inputs[0] : undefined;
  if (only && only.shape.length === 2 && !(fieldSet?.has(only.name) && only.shape[1] === 1)) {
    return matrixColumns(only, fields);
  }
  let rows: number | undefined;
  const columns = new Map<string, Value[]>();
  for (const tensor of inputs) {
    if (fieldSet && !fieldSet.has(tensor.name)) {
      throw badRequest(`input ${tensor.name} is not an input of this model (inputs: ${[...fieldSet].join(', ')})`);
    }
    if (columns.has(tensor.name)) throw badRequest(`input ${tensor.name} is given more than once`);
    const [n, width] = tensor.shape;
    if (n === undefined || tensor.shape.length > 2 || (width !== undefined && width !== 1)) {
      throw badRequest(`input ${tensor.name}: shape [${tensor.shape.join(', ')}] must be [N] or [N, 1] for one field`);
    }
    if (rows !== undefined && n !== rows) throw badRequest(`input ${tensor.name}: has ${n} rows, other inputs have ${rows}`);
    rows = n;
    columns.set(tensor.name, flatValues(tensor));
  }
  if (requireAll && fields) {
    const missing = fields.filter((f) => !columns.has(f));
    if (missing.length > 0) throw badRequest(`input ${missing.join(', ')} is missing (inputs: ${fields.join(', ')})`);
  }
  return { rows: rows ?? 0, columns };
}

function matrixColumns(tensor: Tensor, fields: readonly string[] | undefined): Columns {
  const [rows = 0, width = 0] = tensor.shape;
  if (!fields) {
    throw badRequest(`input ${tensor.name}: this model declares no input order, so send one tensor per input field instead of a matrix`);
  }
  if (width !== fields.length) {
    throw badRequest(`input ${tensor.name}: shape [${tensor.shape.join(', ')}] must have ${fields.length} columns (${fields.join(', ')})`);
  }
  const values = flatValues(tensor);
  const columns = new Map<string, Value[]>();
  fields.forEach((field, j) => {
    const column = new Array<Value>(rows);
    for (let i = 0; i < rows; i += 1) column[i] = values[i * width + j] as Value;
    columns.set(field, column);
  });
  return { rows, columns };
}

/** A column's values as numbers, for models that only compute (BOOL counts as 0/1). */
export function numericColumn(name: string, values: readonly Value[]): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i];
    if (typeof v === 'number') out[i] = v;
    else if (typeof v === 'boolean') out[i] = v ? 1 : 0;
    else throw badRequest(`input ${name}: value ${i} (${JSON.stringify(v)}) is not a number`);
  }
  return out;
}

/** An output tensor from plain values: BYTES for strings, FP64 for numbers, BOOL for booleans. */
export function outputTensor(name: string, values: readonly Value[], shape: readonly number[] = [values.length]): Tensor {
  const first = values[0];
  const datatype: Datatype = typeof first === 'string' ? 'BYTES' : typeof first === 'boolean' ? 'BOOL' : 'FP64';
  return { name, datatype, shape: [...shape], data: values as unknown[] };
}
