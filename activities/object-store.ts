import { PassThrough, type Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { ApiError, Storage } from '@google-cloud/storage';
import type { ObjectLocation } from '../core/uri-policy.js';
import { objectAccessDenied, objectNotFound, objectStoreMisconfigured, tooLarge } from './read-errors.js';

/**
 * Readers of s3:// and gs:// objects through the stores' official SDKs. Both ask for the object's size first
 * and refuse one over the limit before a byte of it is fetched; the caller (read-uri.ts) enforces the limit
 * again while streaming, reports progress, and stops on cancellation. The allow-list (STEWARD_READ_BUCKETS)
 * has judged bucket and key before either is called.
 *
 * GCS goes through @google-cloud/storage (the JSON API) rather than the S3-compatible XML interop: the interop
 * authenticates only with HMAC keys, while the SDK takes Application Default Credentials (a service account
 * file, workload identity, the metadata server), which is how workers on Google Cloud are given access.
 */

/** Object-store settings from configuration (platform/object-store-settings.ts); absent parts: the SDKs' defaults. */
export interface ObjectStoreSettings {
  readonly s3: {
    /** An S3-compatible endpoint (MinIO, Ceph, ...) instead of AWS's. */
    readonly endpoint?: string;
    /** Otherwise the SDK's chain (AWS_REGION, the profile's region). */
    readonly region?: string;
    /** `endpoint/bucket/key` rather than `bucket.endpoint/key` (most S3-compatible servers want it). */
    readonly forcePathStyle: boolean;
  };
  readonly gcs: {
    /** Another JSON API endpoint (an emulator, Private Service Connect). */
    readonly endpoint?: string;
    /** Whether requests to `endpoint` carry credentials (the SDK sends none to a custom endpoint by default). */
    readonly endpointAuth: boolean;
  };
}

export const DEFAULT_OBJECT_STORES: ObjectStoreSettings = { s3: { forcePathStyle: false }, gcs: { endpointAuth: false } };

export interface ObjectReadOptions {
  readonly maxBytes: number;
  readonly idleTimeoutMs: number;
  readonly signal?: AbortSignal;
}

/** One client per settings and idle timeout: clients keep connection pools and cached credentials. */
const clients = new Map<string, S3Client | Storage>();

function cached<T extends S3Client | Storage>(key: string, make: () => T): T {
  let client = clients.get(key) as T | undefined;
  if (!client) {
    client = make();
    clients.set(key, client);
  }
  return client;
}

function s3Client(settings: ObjectStoreSettings['s3'], idleTimeoutMs: number): S3Client {
  return cached(`s3 ${JSON.stringify(settings)} ${idleTimeoutMs}`, () => {
    return new S3Client({
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      ...(settings.region ? { region: settings.region } : {}),
      forcePathStyle: settings.forcePathStyle,
      // Credentials: the SDK's default provider chain (environment, shared profile, web identity, container and
      // instance roles). requestTimeout is the socket's idle time, as for http(s) reads.
      requestHandler: { requestTimeout: idleTimeoutMs, connectionTimeout: idleTimeoutMs },
    });
  });
}

function gcsClient(settings: ObjectStoreSettings['gcs']): Storage {
  return cached(`gs ${JSON.stringify(settings)}`, () => {
    return new Storage({
      ...(settings.endpoint ? { apiEndpoint: settings.endpoint, useAuthWithCustomEndpoint: settings.endpointAuth } : {}),
      // Temporal retries the activity; the SDK's own retries (up to 600 s by default) would only delay a cancel.
      retryOptions: { autoRetry: true, maxRetries: 2, totalTimeout: 60 },
    });
  });
}

/** Rejects when `signal` aborts: for SDK calls that take no signal of their own. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}

function s3Failure(uri: string, location: ObjectLocation, err: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason;
  const e = err as Error & { $metadata?: { httpStatusCode?: number } };
  const status = err instanceof S3ServiceException ? err.$metadata.httpStatusCode : e.$metadata?.httpStatusCode;
  if (e.name === 'NoSuchBucket') return objectNotFound(uri, `bucket ${location.bucket} does not exist`);
  // A HEAD's 404 has no body to say whether the key or the bucket is missing.
  if (e.name === 'NoSuchKey') return objectNotFound(uri, `no object ${location.key} in bucket ${location.bucket}`);
  if (status === 404 || e.name === 'NotFound') return objectNotFound(uri, `no object ${location.key} in bucket ${location.bucket} (or no such bucket)`);
  if (status === 403 || status === 401) {
    return objectAccessDenied(uri, 'access denied: the credentials the AWS SDK found (AWS_ACCESS_KEY_ID, AWS_PROFILE, web identity or the instance role) may not read it');
  }
  if (/region is missing/i.test(e.message)) return objectStoreMisconfigured(uri, 'no S3 region: set STEWARD_S3_REGION (or AWS_REGION)');
  return new Error(`${uri}: ${e.message}`);
}

async function openS3(uri: string, location: ObjectLocation, settings: ObjectStoreSettings['s3'], options: ObjectReadOptions): Promise<Readable> {
  const client = s3Client(settings, options.idleTimeoutMs);
  const abort = options.signal ? { abortSignal: options.signal } : {};
  const object = { Bucket: location.bucket, Key: location.key };
  try {
    const head = await client.send(new HeadObjectCommand(object), abort);
    if (head.ContentLength !== undefined && head.ContentLength > options.maxBytes) throw tooLarge(uri, options.maxBytes, head.ContentLength);
    // The bytes fetched are those of the object whose size was judged: a replaced object fails the read (412).
    const got = await client.send(new GetObjectCommand({ ...object, ...(head.ETag ? { IfMatch: head.ETag } : {}) }), abort);
    return got.Body as Readable;
  } catch (err) {
    if (err instanceof Error && err.name === 'ApplicationFailure') throw err;
    throw s3Failure(uri, location, err, options.signal);
  }
}

function gcsFailure(uri: string, location: ObjectLocation, err: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason;
  const code = err instanceof ApiError ? err.code : (err as { code?: unknown }).code;
  if (code === 404) return objectNotFound(uri, `no object ${location.key} in bucket ${location.bucket} (or no such bucket)`);
  if (code === 403 || code === 401) {
    return objectAccessDenied(uri, 'access denied: the Application Default Credentials the worker found (GOOGLE_APPLICATION_CREDENTIALS, workload identity or the metadata server) may not read it');
  }
  return new Error(`${uri}: ${(err as Error).message}`);
}

async function openGcs(uri: string, location: ObjectLocation, settings: ObjectStoreSettings['gcs'], options: ObjectReadOptions): Promise<Readable> {
  const bucket = gcsClient(settings).bucket(location.bucket);
  let generation: string | number | undefined;
  try {
    const [metadata] = await abortable(bucket.file(location.key).getMetadata(), options.signal);
    const size = Number(metadata.size);
    if (Number.isFinite(size) && size > options.maxBytes) throw tooLarge(uri, options.maxBytes, size);
    generation = metadata.generation;
  } catch (err) {
    if (err instanceof Error && err.name === 'ApplicationFailure') throw err;
    throw gcsFailure(uri, location, err, options.signal);
  }
  // Pinned to the generation whose size was judged. Stored bytes as they are (no gzip transcoding), and no
  // CRC32C pass of the SDK's own: TLS guards the transfer, callers verify declared sha256 digests.
  const file = bucket.file(location.key, generation !== undefined ? { generation } : {});
  const stream = file.createReadStream({ validation: false, decompress: false });
  // Errors come on the stream; give them the same meaning as a failed metadata call.
  const translated = (err: Error) => gcsFailure(uri, location, err, options.signal) as Error;
  return wrapErrors(stream, translated);
}

/** The stream's bytes, its errors replaced by `translate`'s; destroying the result destroys the stream. */
function wrapErrors(stream: Readable, translate: (err: Error) => Error): Readable {
  const out = new PassThrough();
  stream.on('error', (err) => out.destroy(translate(err)));
  out.on('close', () => stream.destroy());
  stream.pipe(out);
  return out;
}

/** Opens an s3:// or gs:// object, refusing one over `maxBytes` from its metadata before fetching it. */
export function openObject(uri: string, location: ObjectLocation, settings: ObjectStoreSettings | undefined, options: ObjectReadOptions): Promise<Readable> {
  const stores = settings ?? DEFAULT_OBJECT_STORES;
  return location.scheme === 's3' ? openS3(uri, location, stores.s3, options) : openGcs(uri, location, stores.gcs, options);
}
