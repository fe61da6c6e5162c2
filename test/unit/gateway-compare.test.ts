import { describe, expect, it } from 'vitest';
import { outputsAgree } from '../../api/gateway/compare.js';
import type { InferenceResponse, Tensor } from '../../runtimes/protocol.js';

const tensor = (name: string, data: unknown[], shape = [data.length], datatype: Tensor['datatype'] = 'FP32'): Tensor => ({ name, shape, datatype, data });
const answer = (...outputs: Tensor[]): InferenceResponse => ({ model_name: 'm', outputs });

describe('comparing a shadow\'s answer with the champion\'s', () => {
  it('agrees on the same outputs in any order, numbers within the tolerance', () => {
    const champion = answer(tensor('score', [0.5, 0.25]), tensor('label', ['approve', 'reject'], [2], 'BYTES'));
    expect(outputsAgree(champion, answer(tensor('label', ['approve', 'reject'], [2], 'BYTES'), tensor('score', [0.50000001, 0.25])))).toBe(true);
    expect(outputsAgree(answer(tensor('s', [[1, 2]], [1, 2])), answer(tensor('s', [1, 2], [1, 2])))).toBe(true);
  });

  it('disagrees on a different value, a missing output, another shape or another label', () => {
    const champion = answer(tensor('score', [0.5, 0.25]));
    expect(outputsAgree(champion, answer(tensor('score', [0.5, 0.26])))).toBe(false);
    expect(outputsAgree(champion, answer(tensor('other', [0.5, 0.25])))).toBe(false);
    expect(outputsAgree(champion, answer(tensor('score', [0.5, 0.25]), tensor('extra', [1])))).toBe(false);
    expect(outputsAgree(champion, answer(tensor('score', [0.5, 0.25], [2, 1])))).toBe(false);
    expect(outputsAgree(answer(tensor('l', ['a'], [1], 'BYTES')), answer(tensor('l', ['b'], [1], 'BYTES')))).toBe(false);
  });

  it('takes a tolerance, and reads booleans as 0 and 1', () => {
    expect(outputsAgree(answer(tensor('s', [1])), answer(tensor('s', [1.05])), { absolute: 0.1, relative: 0 })).toBe(true);
    expect(outputsAgree(answer(tensor('s', [1])), answer(tensor('s', [1.05])), { absolute: 0.01, relative: 0 })).toBe(false);
    expect(outputsAgree(answer(tensor('b', [true, false], [2], 'BOOL')), answer(tensor('b', [1, 0], [2], 'BOOL')))).toBe(true);
  });
});
