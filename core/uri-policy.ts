import ipaddr from 'ipaddr.js';

/**
 * Which locations Steward may read (artifacts, datasets) or call (webhooks). Pure rules, cheap enough for the
 * API to check at registration; the activities check them again, with the file system and DNS, before a byte
 * is read (activities/uri-guard.ts).
 */

/** The schemes Steward has readers for; others (hdfs, abfs, ...) are references it never opens. */
export const READ_SCHEMES = ['file', 'http', 'https', 's3', 'gs'] as const;
export type ReadScheme = (typeof READ_SCHEMES)[number];

/** Object stores: read only when enabled in STEWARD_READ_SCHEMES; until then their URIs stay references. */
export const OBJECT_STORE_SCHEMES = ['s3', 'gs'] as const;
export type ObjectStoreScheme = (typeof OBJECT_STORE_SCHEMES)[number];
export const isObjectStoreScheme = (scheme: string): scheme is ObjectStoreScheme => (OBJECT_STORE_SCHEMES as readonly string[]).includes(scheme);

/** One STEWARD_READ_BUCKETS entry: a bucket, or the keys under a prefix of it (whole `/`-separated segments). */
export interface BucketGrant {
  readonly scheme: ObjectStoreScheme;
  readonly bucket: string;
  /** Without leading or trailing `/`; empty: the whole bucket. */
  readonly prefix: string;
}

export interface NetworkPolicy {
  /**
   * Special-purpose addresses (loopback, private, link-local, unspecified, multicast, reserved, ...) are
   * refused unless listed here as CIDR ranges, or `all`.
   */
  readonly privateNetworks: 'all' | readonly string[];
}

export interface ReadPolicy extends NetworkPolicy {
  /** Absolute directories under which file:// URIs may point (after symlinks are resolved). */
  readonly roots: readonly string[];
  readonly schemes: readonly ReadScheme[];
  /** Host names (`example.com`, `*.example.com`) http(s) URIs may name; null: any host. */
  readonly hosts: readonly string[] | null;
  /** Buckets and prefixes s3:// and gs:// URIs may name; absent or empty: none. */
  readonly buckets?: readonly BucketGrant[];
}

export type UriRule = 'malformed' | 'scheme' | 'file-host' | 'read-roots' | 'read-hosts' | 'read-buckets' | 'private-address' | 'regular-file' | 'redirect';

export interface UriRefusal {
  readonly rule: UriRule;
  /** What is wrong, naming the setting that would allow it; the caller prefixes the URI or field. */
  readonly problem: string;
}

const refuse = (rule: UriRule, problem: string): UriRefusal => ({ rule, problem });

/** A CIDR range (`10.0.0.0/8`) or a single address, as STEWARD_ALLOW_PRIVATE_NETWORKS takes them. */
export function parseNetwork(text: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | null {
  try {
    if (text.includes('/')) return ipaddr.parseCIDR(text);
    const address = ipaddr.parse(text);
    return [address, address.kind() === 'ipv4' ? 32 : 128];
  } catch {
    return null;
  }
}

/** IPv4-mapped IPv6 (`::ffff:127.0.0.1`) counts as the IPv4 address it carries. */
function canonical(address: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  try {
    return ipaddr.process(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  } catch {
    return null;
  }
}

/** Why `address` may not be reached, or null when it is a global unicast address (or configured). */
export function addressRefusal(address: string, policy: NetworkPolicy): UriRefusal | null {
  const ip = canonical(address);
  if (!ip) return refuse('private-address', `${address} is not an IP address`);
  let range: string = ip.range();
  // IPv4-compatible IPv6 (::a.b.c.d, deprecated) can carry a loopback or private IPv4 address.
  if (ip.kind() === 'ipv6' && range === 'unicast' && ip.match(ipaddr.parseCIDR('::/96'))) range = 'ipv4Compatible';
  if (range === 'unicast') return null;
  if (policy.privateNetworks === 'all') return null;
  for (const text of policy.privateNetworks) {
    const network = parseNetwork(text);
    if (network && network[0].kind() === ip.kind() && ip.match(network)) return null;
  }
  return refuse('private-address', `${ip.toString()} is a ${range} address; such addresses are reached only when STEWARD_ALLOW_PRIVATE_NETWORKS allows them`);
}

/** An IP literal host as the URL parser normalised it: dotted-quad IPv4 or bracketed IPv6. */
function literalAddress(hostname: string): string | null {
  if (hostname.startsWith('[') && hostname.endsWith(']')) return hostname.slice(1, -1);
  return ipaddr.IPv4.isValidFourPartDecimal(hostname) ? hostname : null;
}

function hostAllowed(hostname: string, hosts: readonly string[]): boolean {
  const host = hostname.replace(/\.$/, '');
  return hosts.some((entry) => {
    const pattern = entry.toLowerCase();
    return pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1 : host === pattern;
  });
}

/** A root without a trailing slash or doubled slashes, so prefix checks compare whole path segments. */
export function normaliseRoot(root: string): string {
  const collapsed = root.replace(/\/{2,}/g, '/');
  return collapsed.length > 1 ? collapsed.replace(/\/$/, '') : collapsed;
}

/** Whether absolute `path` is `root` or below it, segment by segment. */
export function isInsideRoots(path: string, roots: readonly string[]): boolean {
  return roots.some((r) => {
    const root = normaliseRoot(r);
    return root === '/' || path === root || path.startsWith(`${root}/`);
  });
}

/** The local path a file: URL names, or a refusal; mirrors what fileURLToPath accepts on POSIX. */
export function filePathOf(url: URL): string | UriRefusal {
  if (url.hostname !== '') return refuse('file-host', `names the host ${url.hostname}; only local files are read`);
  if (/%2f|%00/i.test(url.pathname)) return refuse('malformed', 'has an encoded "/" or NUL in its path');
  try {
    return decodeURIComponent(url.pathname);
  } catch {
    return refuse('malformed', 'has a malformed percent-encoding in its path');
  }
}

/**
 * The static check of a URI Steward would read: scheme, file paths against the configured roots (the URL
 * parser has already removed `.` and `..`), http(s) hosts against the allowed hosts, s3/gs buckets and keys
 * against the allowed buckets, and IP literals against the special-purpose ranges. Host names are resolved,
 * and symlinks followed, only by the reading activity. URIs of schemes Steward has no reader for pass, and so
 * do s3/gs URIs while STEWARD_READ_SCHEMES does not enable them: they are references it never opens.
 */
export function readUriRefusal(uri: string, policy: ReadPolicy): UriRefusal | null {
  return uriRefusal(uri, policy, false);
}

/** The check before opening: like readUriRefusal, but an object-store URI whose scheme is not enabled is refused. */
export function openUriRefusal(uri: string, policy: ReadPolicy): UriRefusal | null {
  return uriRefusal(uri, policy, true);
}

function uriRefusal(uri: string, policy: ReadPolicy, opening: boolean): UriRefusal | null {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return refuse('malformed', 'is not a URI');
  }
  const scheme = url.protocol.slice(0, -1);
  if (!(READ_SCHEMES as readonly string[]).includes(scheme)) return null;
  if (!policy.schemes.includes(scheme as ReadScheme)) {
    if (isObjectStoreScheme(scheme) && !opening) return null;
    return refuse('scheme', `${scheme}: URIs are not read here (STEWARD_READ_SCHEMES allows ${policy.schemes.join(', ') || 'none'})`);
  }
  if (scheme === 'file') {
    const path = filePathOf(url);
    if (typeof path !== 'string') return path;
    return isInsideRoots(path, policy.roots) ? null : refuse('read-roots', `${path} is outside the readable roots (STEWARD_READ_ROOTS)`);
  }
  if (isObjectStoreScheme(scheme)) {
    const location = objectLocationOf(url);
    if ('rule' in location) return location;
    return bucketAllowed(location, policy.buckets ?? []) ? null : refuse('read-buckets', `${scheme}://${location.bucket}/${location.key} is not under any bucket or prefix in STEWARD_READ_BUCKETS`);
  }
  return networkUrlRefusal(url, policy) ?? (policy.hosts && !hostAllowed(url.hostname, policy.hosts) ? refuse('read-hosts', `host ${url.hostname} is not in STEWARD_READ_HOSTS`) : null);
}

/** The bucket and object key an s3:// or gs:// URI names. */
export interface ObjectLocation {
  readonly scheme: ObjectStoreScheme;
  readonly bucket: string;
  readonly key: string;
}

/** Lower-case letters, digits, `.`, `-` and `_` (GCS), 3 to 222 characters: what both stores accept as names. */
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/**
 * The bucket and key of an s3:// or gs:// URL, or a refusal. Keys are taken literally by the stores, so a key
 * with `.`/`..` segments, an encoded `/`, a NUL or an empty segment is refused rather than guessed at: the
 * prefix check must judge exactly the key that is read.
 */
export function objectLocationOf(url: URL): ObjectLocation | UriRefusal {
  const scheme = url.protocol.slice(0, -1);
  if (!isObjectStoreScheme(scheme)) return refuse('scheme', `${url.protocol} is not an object store`);
  if (url.username || url.password || url.port) return refuse('malformed', 'names a user, password or port; object URIs are scheme://bucket/key');
  if (url.search || url.hash) return refuse('malformed', 'has a query or fragment; object URIs are scheme://bucket/key');
  const bucket = url.hostname;
  if (!BUCKET.test(bucket)) return refuse('malformed', `bucket ${JSON.stringify(bucket)} is not a bucket name (lower-case letters, digits, ".", "-", "_")`);
  if (/%2f|%00/i.test(url.pathname)) return refuse('malformed', 'has an encoded "/" or NUL in its key');
  let key: string;
  try {
    key = decodeURIComponent(url.pathname.slice(1));
  } catch {
    return refuse('malformed', 'has a malformed percent-encoding in its key');
  }
  if (key === '' || key.endsWith('/')) return refuse('malformed', 'names no object (the key is empty or ends with "/")');
  if (key.split('/').some((s) => s === '' || s === '.' || s === '..')) return refuse('malformed', 'has an empty, "." or ".." segment in its key');
  return { scheme, bucket, key };
}

function bucketAllowed(location: ObjectLocation, grants: readonly BucketGrant[]): boolean {
  return grants.some((g) => g.scheme === location.scheme && g.bucket === location.bucket && (g.prefix === '' || location.key === g.prefix || location.key.startsWith(`${g.prefix}/`)));
}

/** A STEWARD_READ_BUCKETS entry (`s3://bucket`, `gs://bucket/prefix/`), or what is wrong with it. */
export function parseBucketGrant(text: string): BucketGrant | string {
  const match = /^([a-z0-9]+):\/\/([^/]*)(?:\/(.*))?$/i.exec(text);
  if (!match) return `${text} is not scheme://bucket or scheme://bucket/prefix`;
  const scheme = match[1]!.toLowerCase();
  if (!isObjectStoreScheme(scheme)) return `${text}: buckets are s3:// or gs://, not ${scheme}://`;
  const bucket = match[2]!;
  if (!BUCKET.test(bucket)) return `${text}: ${JSON.stringify(bucket)} is not a bucket name (lower-case letters, digits, ".", "-", "_")`;
  const prefix = (match[3] ?? '').replace(/\/+$/, '');
  if (prefix.split('/').some((s) => s === '.' || s === '..' || (s === '' && prefix !== ''))) return `${text}: the prefix has an empty, "." or ".." segment`;
  return { scheme, bucket, prefix };
}

/** The static check of an http(s) URL Steward would call: only an IP literal can be judged without DNS. */
export function networkUrlRefusal(url: URL, policy: NetworkPolicy): UriRefusal | null {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return refuse('scheme', `${url.protocol} URLs are not called; use http(s)`);
  const literal = literalAddress(url.hostname);
  return literal === null ? null : addressRefusal(literal, policy);
}

/** The message of a refusal, naming the URI and the rule. */
export function describeRefusal(uri: string, refusal: UriRefusal): string {
  return `${uri} is not allowed: ${refusal.problem} [rule ${refusal.rule}]`;
}
