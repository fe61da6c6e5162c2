import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import type { Artifact } from '../core/manifest.js';
import { InferenceAnswer } from './answer.js';
import { JsonScanError } from './json-scan.js';
import type { InferenceRequest, InferenceResponse, ModelMetadata, RepositoryEntry } from './protocol.js';
import { BUILTIN_IMPLEMENTATIONS, type CallOptions, type ModelRuntime, type ModelToServe, type RuntimeTarget } from './runtime.js';
import type { ArtifactStager } from './staging.js';

/**
 * A ModelRuntime that speaks the Open Inference Protocol V2 over REST with the model repository extension:
 * MLServer, and Steward's built-in runtime. Loading stages the version's files into the runtime's repository
 * (`<repository>/<name>/model-settings.json` plus the artifacts beside it) and asks the runtime to load that
 * folder by name, so loading again replaces the one copy instead of adding another.
 */

/**
 * A runtime's answer other than 2xx, or no answer. `status` is the HTTP status (absent when the runtime could
 * not be reached); `retryable` says whether trying again can help: a 4xx cannot, a 5xx or a lost connection can.
 */
export class RuntimeError extends Error {
  override readonly name = 'RuntimeError';
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isRuntimeError(err: unknown): err is RuntimeError {
  return err instanceof RuntimeError;
}

export interface OipRuntimeDeps {
  readonly stage: ArtifactStager;
  /** How long `load` waits for the model to report ready after the runtime accepted it. */
  readonly readyTimeoutMs?: number;
  /** Keep-alive connections to the runtime (scoring runs on them). */
  readonly connections?: number;
}

/** Scoring with bytes: a request already serialised in, the runtime's answer as it sent it out. */
export interface ByteScoring {
  /**
   * `body` is a V2 inference request as JSON. A runtime that sends no headers within `timeoutMs`, or stalls
   * its body that long, has failed the call.
   */
  inferBytes(name: string, body: Uint8Array, options?: { readonly timeoutMs?: number }): Promise<InferenceAnswer>;
}

/** Whether a runtime client scores with bytes (the V2 clients do; test doubles may not). */
export const scoresBytes = (runtime: ModelRuntime): runtime is ModelRuntime & ByteScoring => typeof (runtime as Partial<ByteScoring>).inferBytes === 'function';

/** The runtime's HTTP client has to be closed when the process is done with it. */
export interface OipRuntime extends ModelRuntime, ByteScoring {
  close(): Promise<void>;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

const MLSERVER_IMPLEMENTATIONS: Readonly<Record<string, string>> = {
  sklearn: 'mlserver_sklearn.SKLearnModel',
  'scikit-learn': 'mlserver_sklearn.SKLearnModel',
  xgboost: 'mlserver_xgboost.XGBoostModel',
  lightgbm: 'mlserver_lightgbm.LightGBMModel',
  mlflow: 'mlserver_mlflow.MLflowRuntime',
};

/** The `implementation` of model-settings.json for this model on this target; a final error when there is none. */
export function implementationFor(target: RuntimeTarget, model: Pick<ModelToServe, 'kind' | 'framework'>): string {
  const framework = model.framework.trim().toLowerCase();
  let found: string | undefined;
  if (target.kind === 'mlserver') found = MLSERVER_IMPLEMENTATIONS[framework];
  else if (framework === 'onnx') found = BUILTIN_IMPLEMENTATIONS.onnx;
  else if (model.kind === 'rules' || framework === 'json-rules') found = BUILTIN_IMPLEMENTATIONS.rules;
  else if (framework === 'json-linear' || framework === 'linear') found = BUILTIN_IMPLEMENTATIONS.linear;
  if (found) return found;
  const supported =
    target.kind === 'mlserver' ? Object.keys(MLSERVER_IMPLEMENTATIONS).join(', ') : 'onnx, json-rules (or kind rules), json-linear';
  throw new RuntimeError(
    `deployment target "${target.name}" (${target.kind}) cannot serve framework "${model.framework}" (kind ${model.kind}); it serves ${supported}`,
    undefined,
    false,
  );
}

/** The file name an artifact gets in the model's folder: the last segment of its URI, when that is a plain name. */
function fileNameOf(artifact: Artifact, index: number): string {
  let name = '';
  try {
    name = decodeURIComponent(basename(new URL(artifact.uri).pathname));
  } catch {
    name = '';
  }
  const plain = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}$/.test(name) && name !== 'model-settings.json';
  return plain ? name : `artifact-${index}`;
}

/** The artifact the runtime loads: the one named `model` (or `rules`), else the first; the others go beside it. */
export function stagedFiles(model: ModelToServe): { main: string; files: { artifact: Artifact; file: string }[] } {
  const files = model.artifacts.map((artifact, i) => ({ artifact, file: fileNameOf(artifact, i) }));
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.file)) throw new RuntimeError(`model ${model.name}: two artifacts would both be staged as "${f.file}"; give their URIs different file names`, undefined, false);
    seen.add(f.file);
  }
  const main = files.find((f) => f.artifact.name === 'model') ?? files.find((f) => f.artifact.name === 'rules') ?? files[0];
  if (!main) throw new RuntimeError(`model ${model.name} has no artifacts to load`, undefined, false);
  return { main: main.file, files };
}

/** Replaces a file in one step, so a runtime scanning its repository never reads half of one. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.${randomUUID()}.tmp`;
  try {
    await writeFile(temp, text);
    await rename(temp, path);
  } finally {
    await rm(temp, { force: true });
  }
}

const segment = (name: string) => encodeURIComponent(name);

export function createOipRuntime(target: RuntimeTarget, deps: OipRuntimeDeps): OipRuntime {
  const base = new URL(target.url);
  const prefix = base.pathname.replace(/\/+$/, '');
  // One pool of keep-alive connections per runtime: scoring is on the gateway's hot path. Idle connections
  // are dropped after 4 s, before MLServer's server (uvicorn, 5 s) closes them: a request sent on a
  // connection the runtime is closing fails, and a POST is not retried, so it would read as the model's error.
  const pool = new Pool(base.origin, { connections: deps.connections ?? 64, keepAliveTimeout: 4_000, headersTimeout: 120_000, bodyTimeout: 120_000 });
  const readyTimeoutMs = deps.readyTimeoutMs ?? 120_000;

  async function call(method: 'GET' | 'POST', path: string, body: unknown, options: CallOptions | undefined): Promise<{ status: number; json: unknown }> {
    options?.signal?.throwIfAborted();
    let status: number;
    let text: string;
    try {
      const res = await pool.request({
        method,
        path: prefix + path,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(options?.signal ? { signal: options.signal } : {}),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      if (options?.signal?.aborted) throw options.signal.reason;
      throw new RuntimeError(`${target.name} (${target.url}): ${method} ${path}: ${(err as Error).message}`, undefined, true, { cause: err });
    }
    let json: unknown = undefined;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    if (status >= 200 && status < 300) {
      if (json === undefined && text) throw new RuntimeError(`${target.name}: ${method} ${path} answered ${status} with a body that is not JSON`, status, true);
      return { status, json };
    }
    throw refusal(method, path, status, json, text);
  }

  function refusal(method: string, path: string, status: number, json: unknown, text: string): RuntimeError {
    const said = json && typeof json === 'object' && 'error' in json ? String((json as { error: unknown }).error) : text.slice(0, 500) || `HTTP ${status}`;
    return new RuntimeError(`${target.name}: ${method} ${path}: ${status} ${said}`, status, status >= 500 || status === 429);
  }

  /**
   * The scoring hot path: the body goes out as given and the answer's bytes are collected as they arrive,
   * without a response stream or an abort signal per call (the pool's own timers bound it).
   */
  function postBytes(path: string, body: Uint8Array, timeoutMs: number | undefined): Promise<{ status: number; bytes: Buffer }> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let status = 0;
      pool.dispatch(
        { path: prefix + path, method: 'POST', headers: JSON_HEADERS, body, ...(timeoutMs ? { headersTimeout: timeoutMs, bodyTimeout: timeoutMs } : {}) },
        {
          // Its presence marks the handler as undici's current (controller-based) kind.
          onRequestStart() {},
          onResponseStart(_controller, statusCode) {
            status = statusCode;
          },
          onResponseData(_controller, chunk) {
            chunks.push(chunk);
          },
          onResponseEnd() {
            resolve({ status, bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
          },
          onResponseError(_controller, err) {
            reject(new RuntimeError(`${target.name} (${target.url}): POST ${path}: ${err.message}`, undefined, true, { cause: err }));
          },
        },
      );
    });
  }

  /** Status only, for the ready probe: 200 is ready, anything else is not (yet). */
  async function probe(path: string, options: CallOptions | undefined): Promise<boolean> {
    try {
      await call('GET', path, undefined, options);
      return true;
    } catch (err) {
      if (err instanceof RuntimeError && err.status !== undefined && err.status < 500) return false;
      throw err;
    }
  }

  const runtime: OipRuntime = {
    target,

    async load(model, options) {
      options?.signal?.throwIfAborted();
      const implementation = implementationFor(target, model);
      const { main, files } = stagedFiles(model);
      const folder = join(target.repository, model.name);
      await mkdir(folder, { recursive: true });
      for (const { artifact, file } of files) await deps.stage(artifact, join(folder, file), options?.signal ? { signal: options.signal } : {});
      const settings = { name: model.name, implementation, parameters: { uri: `./${main}`, version: model.version } };
      await writeAtomically(join(folder, 'model-settings.json'), `${JSON.stringify(settings, null, 2)}\n`);
      await call('POST', `/v2/repository/models/${segment(model.name)}/load`, {}, options);
      // MLServer answers the load once the model is loaded; other runtimes may load in the background.
      const deadline = Date.now() + readyTimeoutMs;
      for (let wait = 25; ; wait = Math.min(wait * 2, 1000)) {
        if (await probe(`/v2/models/${segment(model.name)}/ready`, options)) return;
        if (Date.now() + wait > deadline) {
          throw new RuntimeError(`${target.name}: model ${model.name} was loaded but did not report ready within ${readyTimeoutMs / 1000} s`, undefined, true);
        }
        await sleep(wait, undefined, options?.signal ? { signal: options.signal } : {});
      }
    },

    async unload(name, options) {
      try {
        await call('POST', `/v2/repository/models/${segment(name)}/unload`, {}, options);
      } catch (err) {
        // Unloading what is not loaded (never loaded, or unloaded by an earlier attempt) is done already.
        if (err instanceof RuntimeError && (err.status === 404 || (err.status === 400 && /not (found|loaded)|unknown|does not exist/i.test(err.message)))) return;
        throw err;
      }
    },

    ready(name, options) {
      return probe(`/v2/models/${segment(name)}/ready`, options);
    },

    async metadata(name, options) {
      return (await call('GET', `/v2/models/${segment(name)}`, undefined, options)).json as ModelMetadata;
    },

    async infer(name, request: InferenceRequest, options) {
      const { json, status } = await call('POST', `/v2/models/${segment(name)}/infer`, request, options);
      if (!json || typeof json !== 'object' || !Array.isArray((json as { outputs?: unknown }).outputs)) {
        throw new RuntimeError(`${target.name}: model ${name} answered an inference without outputs`, status, true);
      }
      return json as InferenceResponse;
    },

    async inferBytes(name, body, options) {
      const path = `/v2/models/${segment(name)}/infer`;
      const { status, bytes } = await postBytes(path, body, options?.timeoutMs);
      if (status < 200 || status >= 300) {
        const text = bytes.toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        throw refusal('POST', path, status, json, text);
      }
      try {
        return InferenceAnswer.scan(bytes);
      } catch (err) {
        if (!(err instanceof JsonScanError)) throw err;
        throw new RuntimeError(`${target.name}: model ${name} answered an inference that is not JSON with outputs (${err.message})`, status, true);
      }
    },

    async index(options) {
      const { json } = await call('POST', '/v2/repository/index', {}, options);
      if (!Array.isArray(json)) throw new RuntimeError(`${target.name}: the repository index is not a list`, undefined, true);
      return json as RepositoryEntry[];
    },

    close() {
      return pool.close();
    },
  };
  return runtime;
}
