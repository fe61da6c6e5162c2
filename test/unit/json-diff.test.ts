import { describe, expect, it } from 'vitest';
import { describeChange, jsonDiff } from '../../core/json-diff.js';
import { canonicalJson } from '../../core/canonical-json.js';

describe('jsonDiff', () => {
  it('lists leaf changes with dotted paths, including added and removed members', () => {
    const changes = jsonDiff(
      { metrics: { auc: 0.9 }, tags: ['a', 'b'], owner: 'erin' },
      { metrics: { auc: 0.95, f1: 0.7 }, tags: ['a'], owner: 'erin' },
    );
    expect(changes.map(describeChange)).toEqual(['metrics.auc: 0.9 → 0.95', 'metrics.f1: absent → 0.7', 'tags.1: "b" → absent']);
  });

  it('finds nothing between equal values and treats a type change as one change', () => {
    expect(jsonDiff({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toEqual([]);
    expect(jsonDiff({ a: [1] }, { a: { 0: 1 } })).toEqual([{ path: 'a', before: [1], after: { 0: 1 } }]);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { f: 1, e: 2 }], c: undefined } })).toBe('{"a":{"d":[3,{"e":2,"f":1}]},"b":1}');
  });
});
