/**
 * A byte buffer fed chunk by chunk and read by a generator-based parser: the parser reads synchronously
 * while enough bytes are buffered and yields (`yield* need(n)`) when it must wait for the next chunk. Only
 * what the parser still has to look at is kept, so memory stays bounded however long the stream is.
 */
export class ChunkBuffer {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** Stream offset of buf[0]. */
  private base = 0;
  /** Bytes still to discard from chunks not yet pushed (a skip larger than what was buffered). */
  private pendingSkip = 0;
  ended = false;

  push(chunk: Buffer): void {
    if (this.pendingSkip > 0) {
      const drop = Math.min(this.pendingSkip, chunk.length);
      this.pendingSkip -= drop;
      this.base += drop;
      chunk = chunk.subarray(drop);
      if (chunk.length === 0) return;
    }
    const rest = this.buf.length - this.pos;
    if (rest === 0) {
      this.base += this.buf.length;
      this.buf = chunk;
    } else {
      this.base += this.pos;
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
    }
    this.pos = 0;
  }

  get available(): number {
    return this.buf.length - this.pos;
  }

  /** Offset in the stream of the next byte to read. */
  get offset(): number {
    return this.base + this.pos + this.pendingSkip;
  }

  /** Whether n bytes can be read now, without waiting for more. */
  has(n: number): boolean {
    return this.pendingSkip === 0 && this.buf.length - this.pos >= n;
  }

  peek(): number {
    return this.buf[this.pos]!;
  }

  u8(): number {
    return this.buf[this.pos++]!;
  }

  /** Reads n bytes (n must be buffered); the result may share memory with the buffer. */
  take(n: number): Buffer {
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Index of `byte` in the buffered bytes from the read position, or -1. */
  indexOf(byte: number, from = 0): number {
    const i = this.buf.indexOf(byte, this.pos + from);
    return i < 0 ? -1 : i - this.pos;
  }

  /** Discards n bytes, including ones not yet pushed. */
  skip(n: number): void {
    const here = Math.min(n, this.available);
    this.pos += here;
    this.pendingSkip += n - here;
  }

  get skipping(): boolean {
    return this.pendingSkip > 0;
  }
}

/** Thrown inside a parser when the stream ends before the bytes it needs. */
export class Truncated extends Error {
  constructor(what: string) {
    super(`the stream ends inside ${what}`);
  }
}

/** Waits until n bytes are buffered (and any pending skip is done), or throws Truncated at the end. */
export function* need(b: ChunkBuffer, n: number, what: string): Generator<void, void, void> {
  while (b.skipping || b.available < n) {
    if (b.ended) throw new Truncated(what);
    yield;
  }
}

/** Drives a parser generator with chunks; `end()` returns its result (or rethrows its error). */
export class Feeder<T> {
  readonly buffer = new ChunkBuffer();
  private readonly parser: Generator<void, T, void>;
  private done: { value: T } | { error: unknown } | null = null;

  constructor(start: (b: ChunkBuffer) => Generator<void, T, void>) {
    this.parser = start(this.buffer);
    this.step();
  }

  get finished(): boolean {
    return this.done !== null;
  }

  write(chunk: Buffer): void {
    if (this.done) return;
    this.buffer.push(chunk);
    this.step();
  }

  end(): T {
    if (!this.done) {
      this.buffer.ended = true;
      this.step();
    }
    const done = this.done!;
    if ('error' in done) throw done.error;
    return done.value;
  }

  private step(): void {
    try {
      const r = this.parser.next();
      if (r.done) this.done = { value: r.value };
    } catch (error) {
      this.done = { error };
    }
  }
}
