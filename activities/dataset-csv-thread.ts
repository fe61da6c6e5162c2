import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DriftColumnSpec } from '../core/drift.js';
import { type ColumnBuilder, DatasetProblem } from './dataset-columns.js';
import { CsvColumns } from './dataset-csv.js';
import type { ColumnValues } from './drift/index.js';

/**
 * The CSV reader for loadDataset: a small file is parsed on the calling thread; past THREAD_FROM bytes the
 * parsing moves to a thread of its own (dataset-csv-worker.ts), so a reference and a current file read at
 * the same time parse on two cores while this thread streams and hashes the bytes. At most MAX_IN_FLIGHT
 * chunks wait for the thread, so memory stays bounded by the columns plus a few chunks, as on one thread.
 */

export type ThreadRequest =
  | { readonly type: 'start'; readonly uri: string; readonly specs: readonly DriftColumnSpec[] }
  | { readonly type: 'chunk'; readonly bytes: Uint8Array }
  | { readonly type: 'end' };

export type ThreadReply =
  | { readonly type: 'ack'; readonly buffer: ArrayBuffer }
  | { readonly type: 'done'; readonly rows: number; readonly columns: readonly ColumnValues[] }
  | { readonly type: 'error'; readonly problem: boolean; readonly message: string };

/** Below this a thread costs more to start than it saves. */
export const THREAD_FROM = 16 * 1024 ** 2;
const MAX_IN_FLIGHT = 8;
/** Chunk buffers the thread has given back, kept for the next chunks (a new buffer per chunk makes V8 collect often). */
const MAX_SPARE = 16;

/**
 * The thread's entry: threads do not inherit the TypeScript loader of the process, so the thread registers
 * it (tsx, as the process runs) before it loads the reader.
 */
const ENTRY = `
const { workerData } = require('node:worker_threads');
import(workerData.tsx).then((tsx) => {
  tsx.register();
  return import(workerData.reader);
});
`;
/** tsx's ESM API (the module next to the CommonJS one that require resolves). */
const threadData = () => ({
  tsx: pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/esm/api')), 'index.mjs')).href,
  reader: new URL('./dataset-csv-worker.ts', import.meta.url).href,
});

export class CsvThreadColumns {
  private readonly queued: Buffer[] = [];
  private queuedBytes = 0;
  private worker: Worker | undefined;
  private inFlight = 0;
  private readonly spare: ArrayBuffer[] = [];
  private failure: Error | undefined;
  private done: { rows: number; columns: readonly ColumnValues[] } | undefined;
  private wake: (() => void) | undefined;
  rows = 0;

  constructor(
    private readonly uri: string,
    private readonly builders: readonly ColumnBuilder[],
    private readonly threadFrom = THREAD_FROM,
  ) {}

  async push(chunk: Buffer): Promise<void> {
    this.check();
    if (!this.worker) {
      this.queued.push(chunk);
      this.queuedBytes += chunk.length;
      if (this.queuedBytes < this.threadFrom) return;
      this.start();
      for (const queued of this.queued.splice(0)) this.send(queued);
    } else this.send(chunk);
    while (this.inFlight > MAX_IN_FLIGHT && !this.failure) await this.next();
    this.check();
  }

  async end(): Promise<void> {
    if (!this.worker) {
      const reader = new CsvColumns(this.uri, this.builders);
      for (const chunk of this.queued.splice(0)) reader.push(chunk);
      reader.end();
      this.rows = reader.rows;
      return;
    }
    this.worker.postMessage({ type: 'end' } satisfies ThreadRequest);
    while (!this.done && !this.failure) await this.next();
    this.check();
    const { rows, columns } = this.done!;
    this.builders.forEach((b, i) => b.adopt(columns[i]!));
    this.rows = rows;
    this.close();
  }

  /** Stops the thread (after the end, or when the read is abandoned). */
  close(): void {
    void this.worker?.terminate();
    this.worker = undefined;
  }

  private check(): void {
    if (this.failure) {
      this.close();
      throw this.failure;
    }
  }

  private start(): void {
    const worker = new Worker(ENTRY, { eval: true, workerData: threadData() });
    worker.unref();
    worker.on('message', (message: ThreadReply) => {
      if (message.type === 'ack') {
        this.inFlight--;
        if (this.spare.length < MAX_SPARE) this.spare.push(message.buffer);
      }
      else if (message.type === 'done') this.done = message;
      else this.failure = message.problem ? new DatasetProblem(message.message) : new Error(`${this.uri}: the CSV reader thread failed: ${message.message}`);
      this.notify();
    });
    worker.on('error', (err) => {
      this.failure ??= new Error(`${this.uri}: the CSV reader thread failed: ${err.message}`);
      this.notify();
    });
    worker.on('exit', (code) => {
      if (!this.done) this.failure ??= new Error(`${this.uri}: the CSV reader thread stopped (exit code ${code})`);
      this.notify();
    });
    worker.postMessage({ type: 'start', uri: this.uri, specs: this.builders.map((b) => b.spec) } satisfies ThreadRequest);
    this.worker = worker;
  }

  private send(chunk: Buffer): void {
    // A copy of its own, moved to the thread (the chunk's memory may be shared with other buffers), into a
    // buffer the thread gave back when one is large enough.
    const spare = this.spare.pop();
    const bytes = spare && spare.byteLength >= chunk.length ? new Uint8Array(spare, 0, chunk.length) : new Uint8Array(chunk.length);
    bytes.set(chunk);
    this.worker!.postMessage({ type: 'chunk', bytes } satisfies ThreadRequest, [bytes.buffer]);
    this.inFlight++;
  }

  /** Waits for the thread's next word; the thread keeps the process alive only while it is waited for. */
  private async next(): Promise<void> {
    this.worker?.ref();
    await new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    this.worker?.unref();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
