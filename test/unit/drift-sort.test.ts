import { describe, expect, it } from 'vitest';
import { sortFloat64 } from '../../activities/drift/sort.js';
import { seededRandom } from '../harness/datasets.js';

/** The radix sort orders values sharing their high 32 bits in a second step; these inputs stress that step. */
describe('sortFloat64 on values that share their high bits', () => {
  const check = (values: Float64Array) => {
    const expected = values.slice().sort();
    const actual = values.slice();
    sortFloat64(actual);
    expect(Array.from(actual, (v) => (Object.is(v, -0) ? '-0' : v))).toEqual(Array.from(expected, (v) => (Object.is(v, -0) ? '-0' : v)));
  };

  it('orders long runs (many distinct values within 2^-20 of each other), positive and negative', () => {
    const random = seededRandom(3);
    // 1 + k 2^-40 and -(1 + k 2^-40): thousands of distinct values per high word.
    check(Float64Array.from({ length: 30_000 }, () => (random() < 0.5 ? -1 : 1) * (1 + Math.floor(random() * 5000) * 2 ** -40)));
  });

  it('orders short runs mixed with ties and spread values, with scratch space reused across sizes', () => {
    const random = seededRandom(4);
    for (const n of [50_000, 3000, 120_000, 2048]) {
      check(Float64Array.from({ length: n }, () => {
        const r = random();
        if (r < 0.2) return Math.round(random() * 20) / 4; // ties
        if (r < 0.5) return 1000 + random() * 2 ** -25; // short runs in one high word
        return (random() - 0.5) * 10 ** Math.floor(random() * 20 - 10);
      }));
    }
  });
});
