import { describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { openUri } from '../../activities/read-uri.js';
import { assertReadable, manifestUris } from '../../api/uri-check.js';
import { openUriRefusal, parseBucketGrant, readUriRefusal, type ReadPolicy } from '../../core/uri-policy.js';
import { ConfigError, loadConfig } from '../../platform/config.js';

const policy: ReadPolicy = {
  roots: ['/srv/models'],
  schemes: ['file', 's3', 'gs'],
  hosts: null,
  privateNetworks: [],
  buckets: [
    { scheme: 's3', bucket: 'lake', prefix: 'credit/2026' },
    { scheme: 'gs', bucket: 'models.example.com', prefix: '' },
  ],
};
const rule = (uri: string, p: ReadPolicy = policy) => openUriRefusal(uri, p)?.rule ?? 'allowed';

describe('the bucket allow-list (static rules)', () => {
  it('reads keys under an allowed bucket and prefix, judged by whole segments', () => {
    expect(rule('s3://lake/credit/2026/reference.parquet')).toBe('allowed');
    expect(rule('s3://lake/credit/2026/q1/live.csv')).toBe('allowed');
    expect(rule('s3://lake/credit/2026')).toBe('allowed');
    expect(rule('s3://lake/credit/2026-old/reference.parquet')).toBe('read-buckets');
    expect(rule('s3://lake/credit/reference.parquet')).toBe('read-buckets');
    expect(rule('s3://lake-2/credit/2026/reference.parquet')).toBe('read-buckets');
    expect(rule('gs://models.example.com/anything/at/all.onnx')).toBe('allowed');
    // A grant is for its own store: the same bucket name in the other store is not allowed.
    expect(rule('gs://lake/credit/2026/reference.parquet')).toBe('read-buckets');
    expect(openUriRefusal('s3://lake/secrets/key.csv', policy)?.problem).toContain('STEWARD_READ_BUCKETS');
  });

  it('judges the key the store would read: dot segments are resolved first, encoded slashes and empty segments refused', () => {
    expect(rule('s3://lake/credit/2026/../../secrets/x.csv')).toBe('read-buckets');
    expect(rule('s3://lake/credit/2026/%2e%2e/%2e%2e/secrets/x.csv')).toBe('read-buckets');
    expect(rule('s3://lake/credit/2026/..%2f..%2fsecrets/x.csv')).toBe('malformed');
    expect(rule('s3://lake/credit/2026//x.csv')).toBe('malformed');
    expect(rule('s3://lake/credit/2026/')).toBe('malformed');
    expect(rule('s3://lake')).toBe('malformed');
    expect(rule('s3://Lake/credit/2026/x.csv')).toBe('malformed');
    expect(rule('s3://user:pw@lake/credit/2026/x.csv')).toBe('malformed');
    expect(rule('s3://lake/credit/2026/x.csv?versionId=1')).toBe('malformed');
  });

  it('keeps s3/gs URIs as references while their scheme is not enabled, and refuses to open them', () => {
    const noStores: ReadPolicy = { ...policy, schemes: ['file', 'https'], buckets: [] };
    expect(readUriRefusal('s3://lake/credit/2026/x.csv', noStores)).toBeNull();
    expect(readUriRefusal('gs://bucket/x.csv', noStores)).toBeNull();
    const refusal = openUriRefusal('s3://lake/credit/2026/x.csv', noStores);
    expect(refusal?.rule).toBe('scheme');
    expect(refusal?.problem).toContain('STEWARD_READ_SCHEMES');
    // Once enabled, the static check at registration judges the bucket too.
    expect(readUriRefusal('s3://lake/secrets/x.csv', policy)?.rule).toBe('read-buckets');
  });

  it('answers registration with a 400 naming the field whose object lies outside the buckets', () => {
    const manifest = { artifacts: [{ uri: 'gs://models.example.com/credit/model.onnx' }], referenceDataset: { uri: 's3://lake/other/reference.parquet' } };
    let thrown: unknown;
    try {
      assertReadable(manifestUris(manifest), policy);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ statusCode: 400, code: 'uri_not_allowed' });
    const issues = (thrown as { issues: { field: string; problem: string }[] }).issues;
    expect(issues.map((i) => i.field)).toEqual(['body.referenceDataset.uri']);
    expect(issues[0]!.problem).toContain('STEWARD_READ_BUCKETS');
  });

  it('parses bucket entries and says what is wrong with a bad one', () => {
    expect(parseBucketGrant('s3://lake')).toEqual({ scheme: 's3', bucket: 'lake', prefix: '' });
    expect(parseBucketGrant('GS://lake/credit/')).toEqual({ scheme: 'gs', bucket: 'lake', prefix: 'credit' });
    expect(parseBucketGrant('lake')).toMatch(/is not scheme:\/\/bucket/);
    expect(parseBucketGrant('https://lake')).toMatch(/s3:\/\/ or gs:\/\/, not https/);
    expect(parseBucketGrant('s3://Lake')).toMatch(/not a bucket name/);
    expect(parseBucketGrant('s3://lake/a/../b')).toMatch(/segment/);
  });
});

describe('object store configuration', () => {
  it('reads buckets, endpoints and regions; credentials are left to the SDKs', () => {
    const { reading } = loadConfig({
      STEWARD_READ_SCHEMES: 'file,s3,gs',
      STEWARD_READ_BUCKETS: 's3://lake/credit, gs://models',
      STEWARD_S3_ENDPOINT: 'http://minio.internal:9000',
      STEWARD_S3_REGION: 'eu-west-1',
      STEWARD_S3_FORCE_PATH_STYLE: 'true',
      STEWARD_GCS_ENDPOINT: 'http://127.0.0.1:9023',
    });
    expect(reading.policy.buckets).toEqual([
      { scheme: 's3', bucket: 'lake', prefix: 'credit' },
      { scheme: 'gs', bucket: 'models', prefix: '' },
    ]);
    expect(reading.objectStores).toEqual({
      s3: { endpoint: 'http://minio.internal:9000', region: 'eu-west-1', forcePathStyle: true },
      gcs: { endpoint: 'http://127.0.0.1:9023', endpointAuth: false },
    });
    // Defaults: no buckets, the SDKs' own endpoints and regions.
    const defaults = loadConfig({}).reading;
    expect(defaults.policy.buckets).toBeUndefined();
    expect(defaults.objectStores).toEqual({ s3: { forcePathStyle: false }, gcs: { endpointAuth: false } });
  });

  it.each([
    [{ STEWARD_READ_SCHEMES: 'file,s3' }, /STEWARD_READ_SCHEMES enables s3 but STEWARD_READ_BUCKETS names no s3:\/\/ bucket/],
    [{ STEWARD_READ_SCHEMES: 'file,s3', STEWARD_READ_BUCKETS: 's3://lake,gs://lake' }, /STEWARD_READ_BUCKETS names gs:\/\/ buckets but STEWARD_READ_SCHEMES does not enable gs/],
    [{ STEWARD_READ_SCHEMES: 'file,s3', STEWARD_READ_BUCKETS: 's3://lake,lake2' }, /STEWARD_READ_BUCKETS: lake2 is not scheme:\/\/bucket/],
    [{ STEWARD_READ_SCHEMES: 'file,s3', STEWARD_READ_BUCKETS: 's3://My_Bucket' }, /STEWARD_READ_BUCKETS: s3:\/\/My_Bucket: "My_Bucket" is not a bucket name/],
    [{ STEWARD_S3_ENDPOINT: 'minio:9000' }, /STEWARD_S3_ENDPOINT: must be an http\(s\) URL/],
    [{ STEWARD_S3_REGION: 'EU West' }, /STEWARD_S3_REGION: must be a region name/],
    [{ STEWARD_S3_FORCE_PATH_STYLE: 'yes' }, /STEWARD_S3_FORCE_PATH_STYLE: must be true or false/],
    [{ STEWARD_GCS_ENDPOINT: 'not a url' }, /STEWARD_GCS_ENDPOINT: must be an http\(s\) URL/],
  ])('refuses %j, naming the setting', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('object store reads that cannot start', () => {
  it('an S3 read with no region anywhere fails for good, naming STEWARD_S3_REGION, before any request', async () => {
    for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) delete process.env[name];
    process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/aws-credentials';
    const err = await openUri('s3://lake/credit/2026/x.csv', { policy, maxBytes: 10, idleTimeoutMs: 2000, objectStores: { s3: { forcePathStyle: false }, gcs: { endpointAuth: false } } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'ObjectStoreMisconfigured', nonRetryable: true });
    expect((err as Error).message).toContain('STEWARD_S3_REGION');
  });
});
