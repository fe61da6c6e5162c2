import { describe, expect, it } from 'vitest';
import { outputsByRow, toRequest } from '../../activities/batch-scoring.js';
import { RuntimeError } from '../../runtimes/oip.js';

const field = (name: string, type: 'number' | 'integer' | 'boolean' | 'category' | 'string') => ({ name, type, nullable: false });

describe('batch scoring requests and answers', () => {
  it('sends all-numeric rows as one [rows, fields] matrix', () => {
    expect(toRequest([field('a', 'number'), field('b', 'integer')], [[1, 2], [3, 4]], 'b:1')).toEqual({
      id: 'b:1',
      inputs: [{ name: 'input', shape: [2, 2], datatype: 'FP64', data: [1, 2, 3, 4] }],
    });
  });

  it('sends mixed rows as one typed column per field, marked as a data frame', () => {
    expect(toRequest([field('income', 'number'), field('band', 'category'), field('member', 'boolean')], [[1.5, '18-25', true], [2, '65+', false]], 'b:3')).toEqual({
      id: 'b:3',
      parameters: { content_type: 'pd' },
      inputs: [
        { name: 'income', shape: [2], datatype: 'FP64', data: [1.5, 2] },
        { name: 'band', shape: [2], datatype: 'BYTES', data: ['18-25', '65+'] },
        { name: 'member', shape: [2], datatype: 'BOOL', data: [true, false] },
      ],
    });
  });

  it('splits outputs by row: scalars for one value per row, slices for more, nested or flat data', () => {
    const rows = outputsByRow(
      [
        { name: 'predict', shape: [2, 1], datatype: 'INT64', data: [1, 0] },
        { name: 'predict_proba', shape: [2, 2], datatype: 'FP64', data: [[0.2, 0.8], [0.9, 0.1]] },
        { name: 'label', shape: [2], datatype: 'BYTES', data: ['approve', 'decline'] },
      ],
      2,
      'test',
    );
    expect(rows).toEqual([
      { predict: 1, predict_proba: [0.2, 0.8], label: 'approve' },
      { predict: 0, predict_proba: [0.9, 0.1], label: 'decline' },
    ]);
  });

  it('refuses an answer with another number of rows than were sent', () => {
    expect(() => outputsByRow([{ name: 'predict', shape: [1], datatype: 'INT64', data: [1] }], 2, 'rows 1-2')).toThrow(RuntimeError);
    expect(() => outputsByRow([{ name: 'predict', shape: [1], datatype: 'INT64', data: [1] }], 2, 'rows 1-2')).toThrow('rows 1-2: output predict has shape [1] for 2 rows');
  });
});
