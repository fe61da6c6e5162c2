import type { ModelManifest } from '../../core/manifest.js';
import { modelKindSchema, riskTierSchema } from '../../core/manifest.js';

/**
 * Sample manifests of every risk tier and kind, with and without protected attributes, that the registry
 * plans each template against at load time: a branch of a template that only some models reach is still
 * checked before any lifecycle depends on it.
 */
export function probeManifests(): ModelManifest[] {
  return riskTierSchema.options.flatMap((riskTier) =>
    modelKindSchema.options.flatMap((kind) =>
      [[], ['age']].map(
        (protectedAttributes): ModelManifest => ({
          name: 'probe',
          version: '1.0.0',
          owner: 'probe',
          team: 'probe',
          description: '',
          kind,
          framework: 'probe',
          artifacts: [{ uri: 'file:///probe', sha256: '0'.repeat(64) }],
          inputSchema: [{ name: 'age', type: 'number', nullable: false }],
          outputSchema: [{ name: 'score', type: 'number', nullable: false }],
          trainingData: [],
          metrics: {},
          dependencies: [],
          riskTier,
          tags: [],
          protectedAttributes,
          template: 'probe',
          deploymentTarget: 'default',
        }),
      ),
    ),
  );
}
