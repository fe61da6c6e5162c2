import { z } from 'zod';

/**
 * The Open Inference Protocol (KServe V2) REST bodies, as MLServer, Triton and KServe speak them and as
 * Steward's built-in runtime and scoring gateway speak them too. Field names are the protocol's own.
 * https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/
 */

export const DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
export type Datatype = (typeof DATATYPES)[number];

const parameters = z.record(z.string(), z.unknown());

export const tensorSchema = z.object({
  name: z.string().min(1).max(256),
  shape: z.array(z.number().int().min(0)).max(16),
  datatype: z.enum(DATATYPES),
  parameters: parameters.optional(),
  /** Row-major, flat or nested as the client sent it. */
  data: z.array(z.unknown()),
});
export type Tensor = z.infer<typeof tensorSchema>;

export const inferenceRequestSchema = z.object({
  id: z.string().max(256).optional(),
  parameters: parameters.optional(),
  inputs: z.array(tensorSchema).min(1, 'at least one input tensor is required').max(10_000),
  outputs: z.array(z.object({ name: z.string().min(1).max(256), parameters: parameters.optional() })).max(10_000).optional(),
});
export type InferenceRequest = z.infer<typeof inferenceRequestSchema>;

export const inferenceResponseSchema = z.object({
  model_name: z.string(),
  model_version: z.string().nullish(),
  id: z.string().nullish(),
  parameters: parameters.nullish(),
  outputs: z.array(tensorSchema),
});
export type InferenceResponse = z.infer<typeof inferenceResponseSchema>;

export interface TensorMetadata {
  readonly name: string;
  readonly datatype: Datatype | string;
  readonly shape: readonly number[];
}

/** `GET /v2/models/{name}`. */
export interface ModelMetadata {
  readonly name: string;
  readonly versions?: readonly string[];
  readonly platform: string;
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
}

/** One row of `POST /v2/repository/index` (the model repository extension). */
export interface RepositoryEntry {
  readonly name: string;
  readonly version?: string | null;
  /** MLServer answers UNKNOWN, READY, UNAVAILABLE, LOADING, UNLOADING or LOADFAILED. */
  readonly state: string;
  readonly reason?: string | null;
}

/** The protocol's error body: `{ "error": "..." }`. */
export interface ProtocolError {
  readonly error: string;
}
