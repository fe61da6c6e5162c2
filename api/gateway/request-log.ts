import { sql } from 'kysely';
import type { CatalogDb } from '../../catalog/db.js';

/** One scored request, for joining ground-truth labels to what the model answered. */
export interface RequestRecord {
  readonly requestId: string;
  readonly modelVersionId: string;
  readonly deploymentId: string;
  readonly windowId: string;
  readonly at: Date;
  readonly outputs: unknown;
}

/** A closed window's row: the observation sent and the sample it kept. */
export interface WindowRecord {
  readonly id: string;
  readonly modelVersionId: string;
  readonly deploymentId: string;
  readonly start: Date;
  readonly end: Date;
  readonly observation: unknown;
  readonly sample: unknown;
}

export interface RequestLogOptions {
  /** Records held while the catalog is slow or down; beyond it new ones are dropped and counted. */
  readonly maxBuffered?: number;
  readonly batchSize?: number;
  readonly flushIntervalMs?: number;
  readonly log?: (level: 'warn' | 'info', message: string, detail?: Record<string, unknown>) => void;
}

/** PostgreSQL text and jsonb cannot hold U+0000; a caller's id or a BYTES output with one must not poison a batch. */
const withoutNul = (_key: string, value: unknown) => (typeof value === 'string' && value.includes('\u0000') ? value.replaceAll('\u0000', '') : value);

/** What the log keeps of tensors: each one's name, shape, datatype and its first values (memory stays bounded). */
export { summariseTensors } from '../../runtimes/answer.js';

/**
 * Writes request and window records to the catalog in batches, off the hot path: `add` only appends to a
 * bounded buffer. A failed batch is put back (while it fits) and tried at the next flush; what cannot be
 * held is dropped, counted and logged, never allowed to grow memory or to slow scoring.
 */
export class RequestLog {
  private requests: RequestRecord[] = [];
  private windows: WindowRecord[] = [];
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly maxBuffered: number;
  private readonly batchSize: number;
  dropped = 0;
  written = 0;

  constructor(
    private readonly db: CatalogDb,
    private readonly options: RequestLogOptions = {},
  ) {
    this.maxBuffered = options.maxBuffered ?? 50_000;
    this.batchSize = options.batchSize ?? 1000;
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.options.flushIntervalMs ?? 500);
    this.timer.unref();
  }

  add(record: RequestRecord): void {
    if (this.requests.length >= this.maxBuffered) {
      this.dropped += 1;
      // One line per thousand lost records, not one per request.
      if (this.dropped % 1000 === 1) this.options.log?.('warn', 'gateway request records dropped: the catalog is not keeping up', { dropped: this.dropped });
      return;
    }
    this.requests.push(record);
    if (this.requests.length >= this.batchSize) void this.flush();
  }

  addWindow(record: WindowRecord): void {
    this.windows.push(record);
  }

  /** Writes what is buffered; one flush at a time. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async write(): Promise<void> {
    while (this.windows.length > 0) {
      const batch = this.windows.splice(0, this.batchSize);
      try {
        await this.db
          .insertInto('gateway_windows')
          .values(
            batch.map((w) => ({
              id: w.id,
              model_version_id: w.modelVersionId,
              deployment_id: w.deploymentId,
              window_start: w.start,
              window_end: w.end,
              observation: JSON.stringify(w.observation, withoutNul),
              sample: JSON.stringify(w.sample, withoutNul),
            })),
          )
          .onConflict((oc) => oc.column('id').doNothing())
          .execute();
      } catch (err) {
        this.windows.unshift(...batch);
        this.options.log?.('warn', 'gateway window records not written; retried at the next flush', { err: (err as Error).message });
        return;
      }
    }
    while (this.requests.length > 0) {
      const batch = this.requests.splice(0, this.batchSize);
      try {
        // One JSON parameter for the whole batch: building a thousand-row insert statement costs more CPU on
        // the scoring process than PostgreSQL spends unpacking it.
        const rows = batch.map((r) => ({ request_id: r.requestId, model_version_id: r.modelVersionId, deployment_id: r.deploymentId, window_id: r.windowId, at: r.at, outputs: r.outputs }));
        await sql`insert into gateway_requests (request_id, model_version_id, deployment_id, window_id, at, outputs)
          select request_id, model_version_id, deployment_id, window_id, at, outputs
          from jsonb_to_recordset(${JSON.stringify(rows, withoutNul)}::jsonb)
            as r(request_id text, model_version_id text, deployment_id text, window_id text, at timestamptz, outputs jsonb)`.execute(this.db);
        this.written += batch.length;
      } catch (err) {
        const room = Math.max(0, this.maxBuffered - this.requests.length);
        const kept = batch.slice(0, room);
        this.dropped += batch.length - kept.length;
        this.requests.unshift(...kept);
        this.options.log?.('warn', 'gateway request records not written; retried at the next flush', { err: (err as Error).message, buffered: this.requests.length, dropped: this.dropped });
        return;
      }
    }
  }

  get buffered(): number {
    return this.requests.length;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.flushing) await this.flushing;
    await this.flush();
  }
}
