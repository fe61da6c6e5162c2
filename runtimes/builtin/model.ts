import type { InferenceRequest, ModelMetadata, Tensor, TensorMetadata } from '../protocol.js';

/** A model loaded in the built-in runtime: everything that can be prepared at load is prepared there. */
export interface LoadedModel {
  readonly platform: string;
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
  /** The output tensors for one request; throws `RuntimeError` (400) for a request the model cannot read. */
  infer(request: InferenceRequest): Promise<Tensor[]> | Tensor[];
  release(): Promise<void>;
}

export function metadataOf(name: string, version: string | undefined, model: LoadedModel): ModelMetadata {
  return { name, versions: version ? [version] : [], platform: model.platform, inputs: model.inputs, outputs: model.outputs };
}

/** Only the outputs the request names, in its order; all of them when it names none. */
export function selectOutputs(request: InferenceRequest, outputs: Tensor[], unknown: (name: string) => Error): Tensor[] {
  if (!request.outputs || request.outputs.length === 0) return outputs;
  return request.outputs.map((wanted) => {
    const found = outputs.find((t) => t.name === wanted.name);
    if (!found) throw unknown(wanted.name);
    return found;
  });
}
