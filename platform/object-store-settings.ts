import { z } from 'zod';
import type { ObjectStoreSettings } from '../activities/object-store.js';
import { parseBucketGrant, type BucketGrant, type ObjectStoreScheme } from '../core/uri-policy.js';

/**
 * Where s3:// and gs:// reads go and which buckets they may name. Credentials are never settings of Steward's:
 * each SDK finds them in its standard chain (AWS: environment, shared profile, web identity, container or
 * instance role; Google: Application Default Credentials).
 */
export const objectStoreEnv = {
  STEWARD_READ_BUCKETS: z.string().optional(),
  STEWARD_S3_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. https://minio.internal:9000' }).optional(),
  STEWARD_S3_REGION: z.string().regex(/^[a-z0-9-]{1,64}$/, 'must be a region name, e.g. eu-west-1').optional(),
  STEWARD_S3_FORCE_PATH_STYLE: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
  STEWARD_GCS_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. http://127.0.0.1:9023' }).optional(),
  STEWARD_GCS_ENDPOINT_AUTH: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
};

type ObjectStoreEnv = z.output<z.ZodObject<typeof objectStoreEnv>>;

export class ObjectStoreConfigError extends Error {}

/**
 * The allowed buckets: an object store enabled in STEWARD_READ_SCHEMES needs buckets of its own here (reading
 * whatever the worker's credentials reach is never the default), and a bucket of a store not enabled is a
 * mistake worth stopping for.
 */
export function readBuckets(e: ObjectStoreEnv, schemes: readonly string[]): BucketGrant[] {
  const entries = (e.STEWARD_READ_BUCKETS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const grants: BucketGrant[] = [];
  for (const entry of entries) {
    const grant = parseBucketGrant(entry);
    if (typeof grant === 'string') throw new ObjectStoreConfigError(`STEWARD_READ_BUCKETS: ${grant}`);
    grants.push(grant);
  }
  for (const scheme of ['s3', 'gs'] as const satisfies readonly ObjectStoreScheme[]) {
    const has = grants.some((g) => g.scheme === scheme);
    if (schemes.includes(scheme) && !has) {
      throw new ObjectStoreConfigError(`STEWARD_READ_SCHEMES enables ${scheme} but STEWARD_READ_BUCKETS names no ${scheme}:// bucket; list the buckets (${scheme}://bucket or ${scheme}://bucket/prefix) Steward may read`);
    }
    if (!schemes.includes(scheme) && has) {
      throw new ObjectStoreConfigError(`STEWARD_READ_BUCKETS names ${scheme}:// buckets but STEWARD_READ_SCHEMES does not enable ${scheme}`);
    }
  }
  return grants;
}

export function objectStoreSettings(e: ObjectStoreEnv): ObjectStoreSettings {
  return {
    s3: {
      ...(e.STEWARD_S3_ENDPOINT ? { endpoint: e.STEWARD_S3_ENDPOINT } : {}),
      ...(e.STEWARD_S3_REGION ? { region: e.STEWARD_S3_REGION } : {}),
      forcePathStyle: e.STEWARD_S3_FORCE_PATH_STYLE === 'true',
    },
    gcs: {
      ...(e.STEWARD_GCS_ENDPOINT ? { endpoint: e.STEWARD_GCS_ENDPOINT } : {}),
      endpointAuth: e.STEWARD_GCS_ENDPOINT_AUTH === 'true',
    },
  };
}
