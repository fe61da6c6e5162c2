import fc from 'fast-check';

/**
 * Hostile inputs, as an attacker or a careless user would send them: unicode edge cases, SQL metacharacters,
 * made-up cursors and dates, URIs that point at secrets or internal services, and path segments that try
 * to climb out of their route. Pure data; the request generator (requests.ts) decides where they go.
 */

const LONG = 70_000;

export const UNICODE = [
  '\uD800', // lone high surrogate
  'a\uDFFFb', // lone low surrogate
  '\uDFFF\uD800', // reversed pair
  '\u0000',
  'nul\u0000inside',
  '\u202Egnp.exe', // right-to-left override
  '\u200F\u05D0\u05D1\u200E', // RTL/LTR marks around Hebrew
  `e${'\u0301'.repeat(2000)}`, // a tower of combining marks
  '\uFEFFbom',
  '\u200B\u200C\u200D\u2060', // zero-width characters
  '𝕏🙂👩‍👩‍👧‍👦',
  '\u0085\u2028\u2029', // line separators JSON and JS disagree on
  '\u0001\u0007\u001B[31m', // control characters and an ANSI escape
  'Ａｄｍｉｎ', // full-width
  'x'.repeat(LONG),
  '🙂'.repeat(LONG / 4),
];

export const SQL = [
  "' OR '1'='1",
  "'; drop table model_versions; --",
  '" OR 1=1 --',
  "admin'--",
  "1; select pg_sleep(10)",
  "') union select token_hash from api_tokens --",
  '%',
  '_',
  '\\',
  "E'\\x00'",
  '$1',
  '::text',
  '$$; drop table models; $$',
  "x' || (select version()) || '",
  '{"$ne": null}',
];

export const BAD_DATES = [
  'not a date',
  '2026-02-30T00:00:00Z',
  '2026-13-01T00:00:00Z',
  '0000-00-00T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '9999-99-99T99:99:99Z',
  '+275760-09-13T00:00:00.000Z',
  '-271821-04-20T00:00:00.000Z',
  '2026-01-01T00:00:00+99:99',
  '2026-01-01T24:00:00Z',
  '2026-01-01',
  'Tue, 03 Mar 2026 10:00:00 GMT',
  '1e999',
  'NaN',
  '',
];

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Cursors this API never issued: `null`, random base64, well-formed ones carrying what the database chokes on. */
export const BAD_CURSORS = [
  'bnVsbA',
  b64('null'),
  b64('"x"'),
  b64('[]'),
  b64('{}'),
  b64({ s: 'created', o: 'desc', v: 'not a date', id: 'x@1.0.0' }),
  b64({ s: 'created', o: 'desc', v: '2026-13-45T99:99:99.999Z', id: 'x@1.0.0' }),
  b64({ s: 'updated', o: 'asc', v: '0000-01-01T00:00:00.000Z', id: 'x@1.0.0' }),
  b64({ s: 'name', o: 'desc', v: 'a\u0000b', id: 'x@1.0.0' }),
  b64({ s: 'created', o: 'desc', v: '2026-01-01T00:00:00.000Z', id: '\u0000' }),
  b64({ s: 'created', o: 'desc', v: '2026-01-01T00:00:00.000Z', id: { $gt: '' } }),
  b64({ s: 'created', o: 'desc', v: "2026-01-01' or 1=1 --", id: 'x' }),
  '====',
  '%%%',
  'a'.repeat(1999),
  'a'.repeat(5000),
];

export const randomBase64 = fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('base64url'));

/** URIs that must never be read: secrets, endless files, the process itself, internal services, odd schemes. */
export function hostileUris(apiPort: number): string[] {
  return [
    'file:///etc/shadow',
    'file:///etc/passwd',
    'file:///dev/zero',
    'file:///dev/urandom',
    'file:///proc/self/environ',
    'file:///proc/self/mem',
    '/proc/self/environ',
    'file://localhost/etc/shadow',
    'file:///tmp/../etc/shadow',
    'file:///%2e%2e/etc/shadow',
    `http://127.0.0.1:${apiPort}/`,
    `http://127.0.0.1:${apiPort}/openapi.json`,
    `http://localhost:${apiPort}/health`,
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://0x7f000001/',
    'http://2130706433/',
    'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://10.0.0.1/',
    'http://192.168.0.1/',
    'https://user:pass@127.0.0.1/',
    'gopher://127.0.0.1:6379/_FLUSHALL',
    'data:text/plain;base64,SGVsbG8=',
    'javascript:alert(1)',
    'ftp://127.0.0.1/',
    's3://../../etc/shadow',
  ];
}

/** Path segments, already percent-encoded where a client would have to, that try to escape their route. */
export const HOSTILE_SEGMENTS = [
  '..',
  '%2e%2e',
  '..%2F..%2Fetc%2Fshadow',
  '%2E%2E%2F%2E%2E%2Fadmin',
  'a%2Fb@1.0.0',
  'a%2F..%2Fb@1.0.0',
  '..%5C..%5Cwindows',
  '%00',
  'x%00@1.0.0',
  '%ED%A0%80', // a lone surrogate as (invalid) UTF-8
  '%C0%AF', // overlong "/"
  '%FF%FE',
  '%',
  '%zz',
  '%E0%A4%A',
  '%u002e',
  '@',
  '@1.0.0',
  'name@',
  'a@b@c',
  'UPPER@1.0.0',
  'x@01.0.0',
  'x@1.0.0-%00',
  '%27%20OR%201%3D1%20--',
  '%3Cscript%3E',
  '%E2%80%AE', // RTL override
  'a'.repeat(101),
  'a'.repeat(5000),
  'model-%F0%9F%99%82@1.0.0',
];

/** Every hostile string, for leaves of generated bodies and query values. */
export function hostileStrings(apiPort: number): string[] {
  return [...UNICODE, ...SQL, ...BAD_DATES, ...BAD_CURSORS, ...hostileUris(apiPort)];
}
