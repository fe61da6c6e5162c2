import type { Artifact } from '../core/manifest.js';

export interface StageOptions {
  /** Aborts the copy: the read stops and the partial file is removed. */
  readonly signal?: AbortSignal;
}

/**
 * Copies one artifact's bytes to `destination` in a runtime's model repository, verifying its sha256 on the
 * way; a file already there with the right digest is kept. The real one (activities/runtime-staging.ts) reads
 * through Steward's allow-listed reader, so a runtime never opens a location the read policy refuses.
 */
export type ArtifactStager = (artifact: Pick<Artifact, 'uri' | 'sha256'>, destination: string, options?: StageOptions) => Promise<void>;
