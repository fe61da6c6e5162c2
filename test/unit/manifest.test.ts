import { describe, expect, it } from 'vitest';
import { manifestJsonSchema, manifestSchema } from '../../core/manifest.js';

const valid = {
  name: 'churn',
  version: '0.1.0',
  owner: 'dana',
  team: 'retention',
  kind: 'ml',
  framework: 'xgboost',
  riskTier: 'medium',
  artifacts: [{ uri: 'file:///models/churn.onnx', sha256: 'a'.repeat(64) }],
  inputSchema: [{ name: 'tenure_months', type: 'integer' }, { name: 'gender', type: 'category', categories: ['f', 'm', 'x'] }],
  outputSchema: [{ name: 'churn_probability', type: 'number' }],
};

describe('the model manifest schema', () => {
  it('fills defaults for optional fields', () => {
    expect(manifestSchema.parse(valid)).toMatchObject({
      description: '',
      metrics: {},
      tags: [],
      trainingData: [],
      dependencies: [],
      protectedAttributes: [],
      template: 'standard',
      deploymentTarget: 'default',
    });
  });

  it('checks cross-field rules: protected attributes are input fields, names and tags are unique', () => {
    const result = manifestSchema.safeParse({
      ...valid,
      inputSchema: [...valid.inputSchema, { name: 'tenure_months', type: 'number' }],
      outputSchema: [{ name: 'p', type: 'number', categories: ['a'] }],
      protectedAttributes: ['gender', 'zip'],
      tags: ['churn', 'churn'],
    });
    const issues = result.error!.issues.map((i) => [i.path.join('.'), i.message]);
    expect(issues).toEqual(
      expect.arrayContaining([
        ['inputSchema.2.name', 'duplicate field "tenure_months"'],
        ['outputSchema.0.categories', 'only a category field has categories'],
        ['tags.1', 'duplicate tag "churn"'],
      ]),
    );
    // Cross-field checks run only once the fields themselves are valid.
    const protectedOnly = manifestSchema.safeParse({ ...valid, protectedAttributes: ['gender', 'zip'] });
    expect(protectedOnly.error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['protectedAttributes.1', '"zip" is not a field of inputSchema'],
    ]);
  });

  it('exports JSON Schema that names the required fields', () => {
    const schema = manifestJsonSchema() as { required: string[]; properties: Record<string, unknown> };
    expect(schema.required).toEqual(
      expect.arrayContaining(['name', 'version', 'owner', 'team', 'kind', 'framework', 'artifacts', 'inputSchema', 'outputSchema', 'riskTier']),
    );
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['protectedAttributes', 'template', 'deploymentTarget']));
  });

  it('names every bad field by its path', () => {
    const result = manifestSchema.safeParse({
      ...valid,
      version: 'latest',
      artifacts: [{ uri: 'ftp://x', sha256: 'nope' }],
      riskTier: 'extreme',
      team: '',
      surprise: true,
    });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['version', 'artifacts.0.uri', 'artifacts.0.sha256', 'riskTier', 'team', '']));
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
