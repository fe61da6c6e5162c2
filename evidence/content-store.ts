import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson } from '../core/canonical-json.js';

const DIGEST = /^[a-f0-9]{64}$/;

/**
 * Content-addressed JSON documents: full reports too large for history. History keeps only the digest, and
 * the store lives outside the catalog database, so a dropped catalog is rebuilt without losing a report.
 * Writes are atomic (temp file + rename) and idempotent (same content, same name).
 */
export class ContentStore {
  constructor(readonly dir: string) {}

  static digestOf(value: unknown): string {
    return createHash('sha256').update(canonicalJson(value)).digest('hex');
  }

  private pathOf(digest: string): string {
    return join(this.dir, digest.slice(0, 2), `${digest}.json`);
  }

  async put(value: unknown): Promise<string> {
    const text = canonicalJson(value);
    const digest = createHash('sha256').update(text).digest('hex');
    const path = this.pathOf(digest);
    await mkdir(join(this.dir, digest.slice(0, 2)), { recursive: true });
    const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temp, text);
    await rename(temp, path);
    return digest;
  }

  /** The document, or null if absent. A document whose bytes no longer match its digest is an error. */
  async get(digest: string): Promise<unknown> {
    if (!DIGEST.test(digest)) throw new TypeError(`"${digest}" is not a sha256 digest`);
    let text: string;
    try {
      text = await readFile(this.pathOf(digest), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const actual = createHash('sha256').update(text).digest('hex');
    if (actual !== digest) throw new Error(`content store: ${digest} has been altered (its bytes hash to ${actual})`);
    return JSON.parse(text);
  }
}
