import { describe, expect, it } from 'vitest';
import { LinearModel, linearDocumentSchema, scoreLinear } from '../../runtimes/builtin/linear.js';

const doc = (json: Record<string, unknown>) => linearDocumentSchema.parse({ kind: 'linear', ...json });

describe('built-in runtime: linear models', () => {
  it('identity link: intercept plus the weighted features', () => {
    const d = doc({ features: ['a', 'b'], coefficients: [2, -1], intercept: 0.5 });
    const { values, labels } = scoreLinear(d, [Float64Array.from([1, 0]), Float64Array.from([3, 4])], 2);
    expect(Array.from(values)).toEqual([-0.5, -3.5]);
    expect(labels).toBeUndefined();
  });

  it('logistic link: the sigmoid of the score, and labels at the threshold', () => {
    const d = doc({ features: ['x'], coefficients: [1], intercept: 0, link: 'logistic', threshold: 0.6, labels: ['approve', 'decline'] });
    const { values, labels } = scoreLinear(d, [Float64Array.from([0, Math.log(0.6 / 0.4), 2])], 3);
    expect(values[0]).toBe(0.5);
    expect(values[1]).toBeCloseTo(0.6, 12);
    expect(values[2]).toBeCloseTo(1 / (1 + Math.exp(-2)), 12);
    expect(labels).toEqual(['approve', 'decline', 'decline']);
  });

  it('a logistic model with labels but no threshold cuts at 0.5; numeric labels are INT64', () => {
    const model = new LinearModel(doc({ features: ['x'], coefficients: [1], link: 'logistic', labels: [0, 1] }));
    const outputs = model.infer({ inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [-1, 1] }] });
    expect(outputs.map((o) => [o.name, o.datatype])).toEqual([
      ['probability', 'FP64'],
      ['label', 'INT64'],
    ]);
    expect(outputs[1]?.data).toEqual([0, 1]);
  });

  it('takes a matrix or one tensor per feature, and only the outputs asked for', () => {
    const model = new LinearModel(doc({ features: ['a', 'b'], coefficients: [1, 10] }));
    const matrix = model.infer({ inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP64', data: [1, 2] }] });
    const perField = model.infer({
      inputs: [
        { name: 'b', shape: [1], datatype: 'INT32', data: [2] },
        { name: 'a', shape: [1], datatype: 'FP64', data: [1] },
      ],
      outputs: [{ name: 'score' }],
    });
    expect(matrix).toEqual([{ name: 'score', datatype: 'FP64', shape: [1], data: [21] }]);
    expect(perField).toEqual(matrix);
    expect(() => model.infer({ inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP64', data: [1, 2] }], outputs: [{ name: 'label' }] })).toThrow(
      'output label is not an output of this model (outputs: score)',
    );
  });

  it('refuses a document whose coefficients do not match its features, or labels on an identity link', () => {
    const bad = linearDocumentSchema.safeParse({ kind: 'linear', features: ['a', 'b'], coefficients: [1] });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]).toMatchObject({ path: ['coefficients'], message: 'has 1 values for 2 features' });
    expect(linearDocumentSchema.safeParse({ kind: 'linear', features: ['a'], coefficients: [1], labels: ['n', 'y'] }).error?.issues[0]?.path).toEqual(['link']);
  });

  it('a string where a feature needs a number is a 400 naming the feature', () => {
    const model = new LinearModel(doc({ features: ['a'], coefficients: [1] }));
    expect(() => model.infer({ inputs: [{ name: 'a', shape: [1], datatype: 'BYTES', data: ['x'] }] })).toThrow('input a: value 0 ("x") is not a number');
  });
});
