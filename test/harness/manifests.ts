import type { ManifestInput } from '../../core/manifest.js';
import { writeArtifact } from './artifacts.js';

let counter = 0;

/**
 * A complete, valid manifest with a real artifact file behind it, and a name no other test uses.
 * Override any field; `name` gets a unique suffix unless `exactName` is given.
 */
export async function sampleManifest(overrides: Partial<ManifestInput> & { exactName?: string } = {}): Promise<ManifestInput> {
  const { exactName, ...fields } = overrides;
  const base = fields.name ?? 'credit-score';
  const name = exactName ?? `${base}-${process.pid.toString(36)}${Date.now().toString(36)}${(counter++).toString(36)}`;
  const artifact = await writeArtifact('model.onnx', Buffer.from(`weights of ${name}`));
  return {
    version: '1.0.0',
    owner: 'erin',
    team: 'credit-risk',
    description: 'Scores consumer loan applications for default risk.',
    kind: 'ml',
    framework: 'onnx',
    riskTier: 'high',
    artifacts: [artifact],
    inputSchema: [
      { name: 'income', type: 'number' },
      { name: 'debt_to_income', type: 'number' },
      { name: 'age_band', type: 'category', categories: ['18-25', '26-40', '41-65', '65+'] },
    ],
    outputSchema: [{ name: 'default_probability', type: 'number' }],
    trainingData: [{ uri: 's3://lake/credit/applications-2025.parquet' }],
    referenceDataset: { uri: 's3://lake/credit/reference-2025q4.parquet' },
    metrics: { auc: 0.91 },
    tags: ['credit', 'pd'],
    protectedAttributes: ['age_band'],
    ...fields,
    name,
  };
}
