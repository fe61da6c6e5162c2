import { describe, expect, it } from 'vitest';
import { manifestSchema } from '../../core/manifest.js';

const valid = {
  name: 'churn',
  version: '0.1.0',
  owner: 'dana',
  artifacts: [{ uri: 'file:///models/churn.onnx', sha256: 'a'.repeat(64) }],
};

describe('the model manifest schema', () => {
  it('fills defaults for kind, risk tier and metrics', () => {
    expect(manifestSchema.parse(valid)).toMatchObject({ kind: 'ml', riskTier: 'medium', metrics: {} });
  });

  it('names every bad field by its path', () => {
    const result = manifestSchema.safeParse({
      ...valid,
      version: 'latest',
      artifacts: [{ uri: 'ftp://x', sha256: 'nope' }],
      riskTier: 'extreme',
      surprise: true,
    });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['version', 'artifacts.0.uri', 'artifacts.0.sha256', 'riskTier', '']));
    expect(result.error!.issues.find((i) => i.code === 'unrecognized_keys')).toMatchObject({ keys: ['surprise'] });
  });

  it('requires at least one artifact', () => {
    const result = manifestSchema.safeParse({ ...valid, artifacts: [] });
    expect(result.error?.issues[0]).toMatchObject({ path: ['artifacts'], message: 'at least one artifact is required' });
  });

  it('refuses non-finite metrics', () => {
    expect(manifestSchema.safeParse({ ...valid, metrics: { auc: Number.NaN } }).success).toBe(false);
  });
});
