import { createHash } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContentStore } from './content-store.js';

/**
 * Closed lifecycle runs, kept beyond Temporal's retention. Each history goes into the content store under
 * its digest; an append-only chain (`archive/chain.jsonl`) records, per run, the digest and a link that
 * hashes the previous link with it, so removing, reordering or altering any archived run is detectable.
 * One archiver writes at a time (the archive workflow runs alone); appends within a process are serialised.
 */
export interface ArchiveEntry {
  readonly seq: number;
  readonly workflowId: string;
  readonly runId: string;
  readonly closedAt: string;
  readonly historyDigest: string;
  readonly prev: string;
  readonly link: string;
}

const GENESIS = '0'.repeat(64);
const linkOf = (prev: string, e: Pick<ArchiveEntry, 'workflowId' | 'runId' | 'historyDigest'>) =>
  createHash('sha256').update(`${prev}|${e.workflowId}|${e.runId}|${e.historyDigest}`).digest('hex');

export class HistoryArchive {
  private readonly chainPath: string;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: ContentStore) {
    this.chainPath = join(store.dir, 'archive', 'chain.jsonl');
  }

  async entries(): Promise<ArchiveEntry[]> {
    try {
      const text = await readFile(this.chainPath, 'utf8');
      return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as ArchiveEntry);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** Archives one closed run; archiving the same run again is a no-op. */
  archive(workflowId: string, runId: string, closedAt: string, history: unknown): Promise<ArchiveEntry> {
    const next = this.queue.then(async () => {
      const entries = await this.entries();
      const existing = entries.find((e) => e.workflowId === workflowId && e.runId === runId);
      if (existing) return existing;
      const historyDigest = await this.store.put(history);
      const prev = entries.at(-1)?.link ?? GENESIS;
      const entry: ArchiveEntry = { seq: entries.length + 1, workflowId, runId, closedAt, historyDigest, prev, link: linkOf(prev, { workflowId, runId, historyDigest }) };
      await mkdir(join(this.store.dir, 'archive'), { recursive: true });
      await appendFile(this.chainPath, `${JSON.stringify(entry)}\n`);
      return entry;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** The archived runs of one workflow id, in the order they closed. */
  async entriesOf(workflowId: string): Promise<ArchiveEntry[]> {
    return (await this.entries()).filter((e) => e.workflowId === workflowId);
  }

  /** One archived history (digest-checked), or null when that run is not archived. */
  async historyOf(workflowId: string, runId: string): Promise<unknown> {
    const entry = (await this.entries()).find((e) => e.workflowId === workflowId && e.runId === runId);
    return entry ? this.store.get(entry.historyDigest) : null;
  }

  /** Checks the chain's links and that every archived history still matches its digest. */
  async verify(): Promise<{ ok: true; entries: number } | { ok: false; problem: string }> {
    let prev = GENESIS;
    for (const e of await this.entries()) {
      if (e.prev !== prev || e.link !== linkOf(prev, e)) return { ok: false, problem: `archive entry ${e.seq} (${e.workflowId} run ${e.runId}) breaks the chain` };
      try {
        if ((await this.store.get(e.historyDigest)) === null) return { ok: false, problem: `archive entry ${e.seq}: history ${e.historyDigest} is missing` };
      } catch (err) {
        return { ok: false, problem: `archive entry ${e.seq}: ${(err as Error).message}` };
      }
      prev = e.link;
    }
    return { ok: true, entries: (await this.entries()).length };
  }
}
