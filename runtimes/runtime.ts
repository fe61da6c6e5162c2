import type { Artifact, ModelManifest } from '../core/manifest.js';
import type { InferenceRequest, InferenceResponse, ModelMetadata, RepositoryEntry } from './protocol.js';

/**
 * A model runtime as Steward drives it: load a model version, ask whether it is ready, score with it, unload
 * it. Implementations speak the Open Inference Protocol with its model repository extension, so MLServer
 * (and Triton or KServe's servers) and Steward's built-in runtime are driven the same way.
 *
 * Every call is idempotent. A version has one name in a runtime (`runtimeModelName`), so loading it again
 * after a retry or a worker crash replaces the same model instead of adding a copy, and unloading a model
 * that is not loaded succeeds.
 */
export interface ModelRuntime {
  readonly target: RuntimeTarget;
  /** Stages the version's artifacts in the runtime's repository and loads it; resolves once it is ready. */
  load(model: ModelToServe, options?: CallOptions): Promise<void>;
  unload(name: string, options?: CallOptions): Promise<void>;
  ready(name: string, options?: CallOptions): Promise<boolean>;
  metadata(name: string, options?: CallOptions): Promise<ModelMetadata>;
  infer(name: string, request: InferenceRequest, options?: CallOptions): Promise<InferenceResponse>;
  /** The repository's models and their states. */
  index(options?: CallOptions): Promise<RepositoryEntry[]>;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
}

/**
 * A deployment target from configuration: the manifest's `deploymentTarget` names one. `repository` is the
 * directory the runtime loads models from (MLServer's `model_repository_root`), which Steward's workers
 * write to; in production it is a volume both share.
 */
export interface RuntimeTarget {
  readonly name: string;
  readonly kind: RuntimeKind;
  /** Base URL of the runtime's V2 REST endpoint, e.g. `http://mlserver:8080`. */
  readonly url: string;
  readonly repository: string;
}

/** `mlserver`: MLServer's inference runtimes (scikit-learn, XGBoost, LightGBM, MLflow). `builtin`: Steward's own. */
export type RuntimeKind = 'mlserver' | 'builtin';

/** What a runtime needs to serve one model version. */
export interface ModelToServe {
  /** The model's name inside the runtime: `runtimeModelName(modelVersionId)`. */
  readonly name: string;
  readonly modelVersionId: string;
  readonly version: string;
  readonly kind: ModelManifest['kind'];
  readonly framework: string;
  readonly artifacts: readonly Artifact[];
  readonly inputSchema: ModelManifest['inputSchema'];
  readonly outputSchema: ModelManifest['outputSchema'];
}

/** The built-in runtime's implementations, named in model-settings.json as MLServer names its own. */
export const BUILTIN_IMPLEMENTATIONS = {
  onnx: 'steward.runtimes.OnnxModel',
  linear: 'steward.runtimes.LinearModel',
  rules: 'steward.runtimes.RulesModel',
} as const;

/**
 * A model version's name inside a runtime, one per version: `credit-decision@1.0.0` becomes
 * `credit-decision-v1.0.0`, which is a valid path segment and directory name everywhere.
 */
export function runtimeModelName(modelVersionId: string): string {
  const at = modelVersionId.lastIndexOf('@');
  if (at <= 0) throw new Error(`not a model version id: ${modelVersionId}`);
  return `${modelVersionId.slice(0, at)}-v${modelVersionId.slice(at + 1)}`;
}

export function modelToServe(manifest: ModelManifest, modelVersionId: string): ModelToServe {
  return {
    name: runtimeModelName(modelVersionId),
    modelVersionId,
    version: manifest.version,
    kind: manifest.kind,
    framework: manifest.framework,
    artifacts: manifest.artifacts,
    inputSchema: manifest.inputSchema,
    outputSchema: manifest.outputSchema,
  };
}
