import type { ManifestInput } from '../../core/manifest.js';
import { writeArtifact } from './artifacts.js';

let counter = 0;

/** A real model the built-in runtime serves: logistic default risk from income and debt-to-income. */
export const SAMPLE_MODEL = {
  kind: 'linear',
  features: ['income', 'debt_to_income'],
  coefficients: [-0.00002, 6.5],
  intercept: -1.2,
  link: 'logistic',
  threshold: 0.5,
} as const;

/**
 * A complete, valid manifest with a real model behind it (a JSON linear model the built-in runtime serves),
 * and a name no other test uses.
 * Override any field; `name` gets a unique suffix unless `exactName` is given.
 */
export async function sampleManifest(overrides: Partial<ManifestInput> & { exactName?: string } = {}): Promise<ManifestInput> {
  const { exactName, ...fields } = overrides;
  const base = fields.name ?? 'credit-score';
  const name = exactName ?? `${base}-${process.pid.toString(36)}${Date.now().toString(36)}${(counter++).toString(36)}`;
  const artifact = await writeArtifact('model.json', JSON.stringify(SAMPLE_MODEL));
  return {
    version: '1.0.0',
    owner: 'erin',
    team: 'credit-risk',
    description: 'Scores consumer loan applications for default risk.',
    kind: 'ml',
    framework: 'json-linear',
    riskTier: 'high',
    artifacts: [artifact],
    inputSchema: [
      { name: 'income', type: 'number' },
      { name: 'debt_to_income', type: 'number' },
      { name: 'age_band', type: 'category', categories: ['18-25', '26-40', '41-65', '65+'] },
    ],
    outputSchema: [
      { name: 'probability', type: 'number' },
      { name: 'label', type: 'integer' },
    ],
    trainingData: [{ uri: 's3://lake/credit/applications-2025.parquet' }],
    referenceDataset: { uri: 's3://lake/credit/reference-2025q4.parquet' },
    metrics: { auc: 0.91 },
    tags: ['credit', 'pd'],
    protectedAttributes: ['age_band'],
    ...fields,
    name,
  };
}
