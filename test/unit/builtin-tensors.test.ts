import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../runtimes/protocol.js';
import { RuntimeError } from '../../runtimes/builtin/errors.js';
import { flatValues, numericColumn, toColumns } from '../../runtimes/builtin/tensors.js';

const t = (name: string, shape: number[], data: unknown[], datatype: Tensor['datatype'] = 'FP64'): Tensor => ({ name, shape, datatype, data });

function refusal(fn: () => unknown): { status: number; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof RuntimeError) return { status: err.statusCode, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('built-in runtime: tensor conversion', () => {
  it('reads one [N, F] tensor, flat or nested, as columns in the model field order', () => {
    for (const data of [[1, 2, 3, 4, 5, 6], [[1, 2, 3], [4, 5, 6]]]) {
      const { rows, columns } = toColumns([t('anything', [2, 3], data)], ['a', 'b', 'c'], true);
      expect(rows).toBe(2);
      expect(Object.fromEntries(columns)).toEqual({ a: [1, 4], b: [2, 5], c: [3, 6] });
    }
  });

  it('reads one tensor per field, [N] or [N, 1], strings as BYTES', () => {
    const { rows, columns } = toColumns([t('income', [2], [10, 20]), t('band', [2, 1], [['x'], ['y']], 'BYTES')], ['income', 'band'], true);
    expect(rows).toBe(2);
    expect(Object.fromEntries(columns)).toEqual({ income: [10, 20], band: ['x', 'y'] });
  });

  it('a single [N, 1] tensor named after a field is that field, not a one-column matrix', () => {
    const { columns } = toColumns([t('b', [2, 1], [1, 2])], ['a', 'b'], false);
    expect([...columns.keys()]).toEqual(['b']);
  });

  it('refuses data that does not fill the shape, naming the input and the counts', () => {
    expect(refusal(() => flatValues(t('features', [2, 3], [1, 2, 3, 4, 5])))).toEqual({
      status: 400,
      message: 'input features: shape [2, 3] needs 6 values, got 5',
    });
  });

  it('refuses values of the wrong type for the datatype, naming the input and position', () => {
    expect(refusal(() => flatValues(t('x', [2], [1, 'two'])))).toMatchObject({ status: 400, message: expect.stringContaining('input x: value 1 ("two") is not a finite number (FP64)') });
    expect(refusal(() => flatValues(t('x', [1], [1.5], 'INT64'))).message).toContain('is not an integer (INT64)');
    expect(refusal(() => flatValues(t('x', [1], [3], 'BYTES'))).message).toContain('is not a string (BYTES)');
    expect(refusal(() => flatValues(t('x', [1], [null]))).message).toContain('value 0 (null)');
  });

  it('refuses a matrix with the wrong number of columns, listing the fields', () => {
    expect(refusal(() => toColumns([t('m', [1, 2], [1, 2])], ['a', 'b', 'c'], true)).message).toBe('input m: shape [1, 2] must have 3 columns (a, b, c)');
  });

  it('refuses unknown, missing, repeated and misshapen per-field inputs and differing row counts', () => {
    expect(refusal(() => toColumns([t('zzz', [1], [1])], ['a'], true)).message).toBe('input zzz is not an input of this model (inputs: a)');
    expect(refusal(() => toColumns([t('a', [1], [1])], ['a', 'b'], true)).message).toBe('input b is missing (inputs: a, b)');
    expect(refusal(() => toColumns([t('a', [1], [1]), t('a', [1], [2])], ['a', 'b'], false)).message).toBe('input a is given more than once');
    expect(refusal(() => toColumns([t('a', [1, 2], [1, 2]), t('b', [1], [1])], ['a', 'b'], true)).message).toContain('must be [N] or [N, 1]');
    expect(refusal(() => toColumns([t('a', [1], [1]), t('b', [2], [1, 2])], ['a', 'b'], true)).message).toBe('input b: has 2 rows, other inputs have 1');
  });

  it('without a declared field order, a matrix is refused and per-field tensors are read', () => {
    expect(refusal(() => toColumns([t('m', [1, 2], [1, 2])], undefined, false)).message).toContain('declares no input order');
    expect(toColumns([t('p', [1], [1]), t('q', [1], [2])], undefined, false).rows).toBe(1);
  });

  it('numeric columns take numbers and booleans and refuse strings', () => {
    expect(Array.from(numericColumn('a', [1, true, false]))).toEqual([1, 1, 0]);
    expect(refusal(() => numericColumn('a', [1, 'x'])).message).toBe('input a: value 1 ("x") is not a number');
  });
});
