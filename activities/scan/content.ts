import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createInflate } from 'node:zlib';
import yauzl from 'yauzl';
import type { Severity } from '../../core/policy.js';
import { Feeder, type ChunkBuffer, need, Truncated } from './bytes.js';
import { isLicenseFile, recogniseLicense } from './license.js';
import { walkPickles, type PickleWalk } from './pickle.js';
import { SecretScanner, secretsInLine, type SecretHit } from './secrets.js';

/**
 * Scans one artifact's bytes as they stream: pickles (also joblib, compressed joblib, .npy object arrays)
 * are walked for their imports, zip containers (PyTorch .pt/.pth, .npz, plain zips) are spooled to a
 * temporary file and each member scanned the same way, text is searched for secrets, and LICENSE files are
 * recognised. Everything stays within one byte budget (the artifact size limit, decompressed bytes counted).
 */

export type ContentCode =
  | 'pickle-import'
  | 'pickle-malformed'
  | 'pickle-trailing-data'
  | 'secret'
  | 'archive-too-large'
  | 'archive-unreadable'
  | 'archive-too-deep'
  | 'compression-unsupported';

export interface ContentFinding {
  readonly severity: Severity;
  readonly code: ContentCode;
  readonly message: string;
  /** Path inside the artifact (zip member; nested containers joined with `!/`); absent for the artifact itself. */
  readonly member?: string;
  /** Byte offset in the (decompressed) member or artifact. */
  readonly offset?: number;
  /** `module.name` of a pickle import. */
  readonly import?: string;
}

export interface ContentScan {
  readonly findings: ContentFinding[];
  /** License files found, with the license recognised in each (null: not recognised). */
  readonly licenseFiles: { readonly path: string; readonly license: string | null }[];
  /** Pickle streams walked to their end, and every distinct import seen (allowed ones too). */
  pickles: number;
  readonly imports: Set<string>;
}

export interface ContentLimits {
  /** Most bytes read in all, decompressed zip members and compressed streams counted again. */
  readonly maxBytes: number;
  readonly signal?: AbortSignal;
  /** Progress for heartbeats: bytes of members and decompressed streams (the artifact's own read reports its own). */
  readonly onBytes?: (bytes: number) => void;
}

/** Containers inside containers: deeper ones are a finding, not a recursion. */
const MAX_DEPTH = 4;
/** Names whose content is a pickle even without a PROTO opcode (protocols 0 and 1 have none). */
const PICKLE_NAME = /\.(pkl|pickle|joblib|sav|dill|p|pck|pt|pth|ckpt)$/i;
/** Bytes a protocol 0/1 pickle can start with (MARK, GLOBAL, EMPTY_LIST/DICT/TUPLE, LIST, DICT, INT, NONE, STRING, UNICODE, ...). */
const PROTO0_START = new Set(Array.from('(c]}ld)INSVFLgi', (c) => c.charCodeAt(0)));

type Kind = 'zip' | 'npy' | 'gzip' | 'zlib' | 'pickle' | 'other';

function sniff(head: Buffer, name: string): Kind | { unsupported: string } {
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts(0x50, 0x4b, 0x03, 0x04) || starts(0x50, 0x4b, 0x05, 0x06)) return 'zip';
  if (starts(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59)) return 'npy';
  if (starts(0x1f, 0x8b)) return 'gzip';
  if (head.length >= 2 && head[0] === 0x78 && ((head[0] << 8) | head[1]!) % 31 === 0 && PICKLE_NAME.test(name)) return 'zlib';
  if (starts(0x42, 0x5a, 0x68)) return { unsupported: 'bzip2' };
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return { unsupported: 'xz' };
  if (starts(0x04, 0x22, 0x4d, 0x18)) return { unsupported: 'lz4' };
  if (starts(0x5d, 0x00, 0x00) && PICKLE_NAME.test(name)) return { unsupported: 'lzma' };
  if (head[0] === 0x80 && head[1] !== undefined && head[1] <= 5) return 'pickle';
  if (PICKLE_NAME.test(name)) return 'pickle';
  return 'other';
}

const looksLikeText = (head: Buffer) => head.length > 0 && !head.includes(0);

/** Splits an async byte source into its first bytes (for sniffing) and the whole stream again. */
async function peek(source: AsyncIterable<Buffer>, n: number): Promise<{ head: Buffer; all: AsyncIterable<Buffer> }> {
  const it = source[Symbol.asyncIterator]();
  const seen: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    seen.push(r.value);
    size += r.value.length;
  }
  async function* all(): AsyncIterable<Buffer> {
    yield* seen;
    if (done) return;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  return { head: Buffer.concat(seen).subarray(0, n), all: all() };
}

class Budget {
  used = 0;
  constructor(readonly limits: ContentLimits) {}
  /** Counts decompressed bytes; false once over the limit. */
  take(n: number): boolean {
    this.used += n;
    this.limits.onBytes?.(n);
    return this.used <= this.limits.maxBytes;
  }
}

class OverBudget extends Error {}

export async function scanContent(name: string, source: AsyncIterable<Buffer>, limits: ContentLimits): Promise<ContentScan> {
  const out: ContentScan = { findings: [], licenseFiles: [], pickles: 0, imports: new Set() };
  await scanPart({ out, budget: new Budget(limits), signal: limits.signal }, name, null, source, 0);
  return out;
}

interface Scan {
  readonly out: ContentScan;
  readonly budget: Budget;
  readonly signal: AbortSignal | undefined;
}

const join2 = (member: string | null, inner: string) => (member ? `${member}!/${inner}` : inner);

async function scanPart(scan: Scan, name: string, member: string | null, source: AsyncIterable<Buffer>, depth: number): Promise<void> {
  const { head, all } = await peek(source, 16);
  const kind = sniff(head, name);
  const at = member ? { member } : {};
  if (typeof kind === 'object') {
    scan.out.findings.push({ ...at, severity: 'high', code: 'compression-unsupported', message: `${member ?? name} is ${kind.unsupported}-compressed, which the scanner cannot open: nothing inside it was checked` });
    return drain(all, scan);
  }
  if (kind === 'zip') {
    if (depth >= MAX_DEPTH) {
      scan.out.findings.push({ ...at, severity: 'high', code: 'archive-too-deep', message: `${member ?? name} is an archive nested ${depth} deep; it was not opened` });
      return drain(all, scan);
    }
    return scanZip(scan, name, member, all, depth);
  }
  if (kind === 'gzip' || kind === 'zlib') {
    const inner = name.replace(/\.(gz|z|zlib)$/i, '');
    const decompressed = Readable.from(all).pipe(kind === 'gzip' ? createGunzip() : createInflate());
    return scanPart(scan, inner, member ? `${member}!/<${kind}>` : `<${kind}>`, counted(decompressed, scan), depth + 1);
  }
  const text = looksLikeText(head);
  const secrets = text ? new SecretScanner() : null;
  const licenseText = text && isLicenseFile(member ?? name) ? new LicenseCollector() : null;
  const stringHits: SecretHit[] = [];
  const onString = (s: string) => {
    if (s.length >= 16 && stringHits.length < 20) stringHits.push(...secretsInLine(s, 0));
  };
  // A pickle is walked; other content is walked speculatively when it could be a protocol 0/1 pickle, and
  // only reported when it turns out to be one.
  const definite = kind === 'pickle' || kind === 'npy';
  const walker =
    kind === 'npy' ? new Feeder((b) => walkNpy(b, onString)) : definite || PROTO0_START.has(head[0] ?? -1) ? new Feeder((b) => walkPickles(b, { onString })) : null;
  for await (const chunk of all) {
    walker?.write(chunk);
    secrets?.write(chunk);
    licenseText?.write(chunk);
  }
  if (walker) reportWalk(scan, name, member, walker.end(), definite);
  const where = member ?? name;
  for (const hit of [...(secrets?.end() ?? []), ...stringHits]) {
    scan.out.findings.push({
      ...at,
      severity: hit.critical ? 'critical' : 'high',
      code: 'secret',
      message: `${where}${hit.line ? ` line ${hit.line}` : ' (a pickled string)'}: ${hit.kind} (${hit.preview})`,
    });
  }
  if (licenseText) scan.out.licenseFiles.push({ path: where, license: recogniseLicense(licenseText.text()) });
}

function reportWalk(scan: Scan, name: string, member: string | null, walk: PickleWalk | null, definite: boolean): void {
  if (!walk) return;
  const where = member ?? name;
  const at = member ? { member } : {};
  const critical = walk.imports.some((i) => i.verdict === 'critical');
  // Speculative walks of text or data: only a complete pickle, or one importing something critical, counts.
  if (!definite && walk.pickles === 0 && !critical) return;
  scan.out.pickles += walk.pickles;
  for (const i of walk.imports) {
    const full = `${i.module}.${i.name}`;
    scan.out.imports.add(full);
    if (i.verdict === 'allowed') continue;
    const why = i.verdict === 'critical' ? 'a known-dangerous call (runs code, reaches the system or resolves further names)' : 'not on the allow-list of safe globals';
    scan.out.findings.push({
      ...at,
      severity: i.verdict,
      code: 'pickle-import',
      offset: i.offset,
      import: full,
      message: `${where} imports ${full} (${i.opcode} at offset ${i.offset}): ${why}; loading it would call or reach it`,
    });
  }
  for (const p of walk.problems) {
    scan.out.findings.push({
      ...at,
      severity: p.kind === 'malformed' ? 'high' : 'low',
      code: p.kind === 'malformed' ? 'pickle-malformed' : 'pickle-trailing-data',
      offset: p.offset,
      message: `${where}: ${p.message}${p.kind === 'malformed' ? '; what follows was not checked' : ''}`,
    });
  }
}

/**
 * .npy: magic, version, a header dict; an object array's data is a pickle (numpy.save with allow_pickle),
 * any other array's data is raw and skipped.
 */
function* walkNpy(b: ChunkBuffer, onString: (s: string) => void): Generator<void, PickleWalk | null, void> {
  try {
    yield* need(b, 8, '.npy header');
    b.take(6);
    const major = b.u8();
    b.u8();
    // version 1 has a 2-byte header length, versions 2 and 3 a 4-byte one
    yield* need(b, major === 1 ? 2 : 4, '.npy header');
    const length = major === 1 ? b.take(2).readUInt16LE(0) : b.take(4).readUInt32LE(0);
    yield* need(b, length, '.npy header');
    const header = b.take(length).toString('latin1');
    if (!/'[<>|=]?O\d*'/.test(header)) return null;
  } catch (err) {
    if (err instanceof Truncated) return null;
    throw err;
  }
  return yield* walkPickles(b, { onString });
}

class LicenseCollector {
  private readonly parts: Buffer[] = [];
  private size = 0;
  write(chunk: Buffer): void {
    if (this.size >= 1 << 16) return;
    this.parts.push(chunk);
    this.size += chunk.length;
  }
  text(): string {
    return Buffer.concat(this.parts).subarray(0, 1 << 16).toString('utf8');
  }
}

async function* counted(source: AsyncIterable<Buffer>, scan: Scan): AsyncIterable<Buffer> {
  for await (const chunk of source) {
    scan.signal?.throwIfAborted();
    if (!scan.budget.take(chunk.length)) throw new OverBudget();
    yield chunk;
  }
}

async function drain(source: AsyncIterable<Buffer>, scan: Scan): Promise<void> {
  for await (const _chunk of source) scan.signal?.throwIfAborted();
}

async function scanZip(scan: Scan, name: string, member: string | null, source: AsyncIterable<Buffer>, depth: number): Promise<void> {
  // A zip's directory is at its end: spool to a private temporary file, then read members from there.
  const dir = await mkdtemp(join(tmpdir(), 'steward-scan-'));
  const path = join(dir, 'archive.zip');
  const at = member ? { member } : {};
  const where = member ?? name;
  try {
    await pipeline(Readable.from(source), createWriteStream(path, { flags: 'wx', mode: 0o600 }), ...(scan.signal ? [{ signal: scan.signal }] : []));
    let zip: yauzl.ZipFile;
    try {
      zip = await yauzl.openPromise(path, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false });
    } catch (err) {
      scan.out.findings.push({ ...at, severity: 'high', code: 'archive-unreadable', message: `${where} looks like a zip but cannot be read: ${(err as Error).message}` });
      return;
    }
    try {
      for await (const entry of entries(zip)) {
        scan.signal?.throwIfAborted();
        if (entry.fileName.endsWith('/')) continue;
        const path = join2(member, entry.fileName);
        if (entry.isEncrypted()) {
          scan.out.findings.push({ member: path, severity: 'high', code: 'archive-unreadable', message: `${path} is encrypted: it cannot be checked` });
          continue;
        }
        if (scan.budget.used + entry.uncompressedSize > scan.budget.limits.maxBytes) throw new OverBudget();
        let stream: Readable;
        try {
          stream = await zip.openReadStreamPromise(entry);
        } catch (err) {
          scan.out.findings.push({ member: path, severity: 'high', code: 'archive-unreadable', message: `${path} cannot be read: ${(err as Error).message}` });
          continue;
        }
        try {
          await scanPart(scan, entry.fileName, path, counted(stream, scan), depth + 1);
        } catch (err) {
          stream.destroy();
          if (err instanceof OverBudget || scan.signal?.aborted) throw err;
          scan.out.findings.push({ member: path, severity: 'high', code: 'archive-unreadable', message: `${path} cannot be read: ${(err as Error).message}` });
        }
      }
    } finally {
      zip.close();
    }
  } catch (err) {
    if (!(err instanceof OverBudget)) throw err;
    scan.out.findings.push({
      ...at,
      severity: 'critical',
      code: 'archive-too-large',
      message: `${where} unpacks to more than the limit of ${scan.budget.limits.maxBytes} bytes (STEWARD_MAX_ARTIFACT_BYTES); the rest was not checked`,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A zip's entries one at a time (yauzl's lazy mode), so members are scanned in order, never all at once. */
async function* entries(zip: yauzl.ZipFile): AsyncIterable<yauzl.Entry> {
  for (;;) {
    const next = new Promise<yauzl.Entry | null>((resolve, reject) => {
      const onEntry = (e: yauzl.Entry) => done(() => resolve(e));
      const onEnd = () => done(() => resolve(null));
      const onError = (err: Error) => done(() => reject(err));
      const done = (f: () => void) => {
        zip.off('entry', onEntry).off('end', onEnd).off('error', onError);
        f();
      };
      zip.on('entry', onEntry).on('end', onEnd).on('error', onError);
    });
    zip.readEntry();
    const entry = await next;
    if (!entry) return;
    yield entry;
  }
}
