import { type ColumnBuilder, DatasetProblem, MISSING } from './dataset-columns.js';

import { decimalInto } from './decimal-bytes.js';

/**
 * A streaming CSV reader (RFC 4180: a header row, comma-separated, fields optionally in double quotes with ""
 * for a quote, LF or CRLF line ends, a leading UTF-8 BOM dropped, empty lines skipped) that writes the wanted
 * columns straight into their builders. It scans bytes and, in the same pass, parses the numbers of numerical
 * columns from them (decimal-bytes.ts) without making a string or a row object per cell; this is what makes a
 * 100-column file read at disk speed rather than at the speed of a general parser's per-record objects.
 * Numbers come out exactly as Number() (and Python's float()) reads the text.
 */

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;

/** Field flags: quoted, quoted with "" escapes, a number already parsed into `values`. */
const QUOTED = 1;
const ESCAPED = 2;
const PARSED = 4;

/** Field boundaries of one record: start, end, flags and the parsed number (if PARSED) per field. */
interface Fields {
  starts: Int32Array;
  ends: Int32Array;
  flags: Uint8Array;
  values: Float64Array;
  count: number;
}

function grow(fields: Fields): void {
  const size = fields.starts.length * 2;
  const starts = new Int32Array(size);
  const ends = new Int32Array(size);
  const flags = new Uint8Array(size);
  const values = new Float64Array(size);
  starts.set(fields.starts);
  ends.set(fields.ends);
  flags.set(fields.flags);
  values.set(fields.values);
  Object.assign(fields, { starts, ends, flags, values });
}

export class CsvColumns {
  private carry: Buffer | undefined;
  private header: string[] | undefined;
  /** The builder of each field position of the header, or undefined for a column not asked for. */
  private sinks: (ColumnBuilder | undefined)[] = [];
  /** 1 at the field positions of numerical columns (parsed while scanning), 0 elsewhere; empty before the header. */
  private numeric = new Uint8Array(0);
  private readonly fields: Fields = { starts: new Int32Array(128), ends: new Int32Array(128), flags: new Uint8Array(128), values: new Float64Array(128), count: 0 };
  private first = true;
  /** Data rows delivered so far (row numbers in messages count data rows from 1). */
  rows = 0;

  constructor(
    private readonly uri: string,
    private readonly builders: readonly ColumnBuilder[],
  ) {}

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.carry && !this.first) {
      // Finish the unfinished record with the chunk's first line, so the chunk itself is scanned where it
      // lies rather than copied behind the carry (a copy per chunk is a large allocation per chunk).
      const nl = chunk.indexOf(LF);
      const head = nl < 0 ? undefined : Buffer.concat([this.carry, chunk.subarray(0, nl + 1)]);
      const used = head ? this.scan(head, false) : 0;
      buf = head && used === head.length ? chunk.subarray(nl + 1) : Buffer.concat([(head ?? this.carry).subarray(used), chunk.subarray(head ? nl + 1 : 0)]);
    } else if (this.carry) buf = Buffer.concat([this.carry, chunk]);
    if (this.first) {
      if (buf.length < 3) {
        this.carry = Buffer.from(buf);
        return;
      }
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
      this.first = false;
    }
    const used = this.scan(buf, false);
    // Copied: a view would keep the whole chunk alive for a few bytes of an unfinished record.
    this.carry = used < buf.length ? Buffer.from(buf.subarray(used)) : undefined;
  }

  end(): void {
    const rest = this.carry;
    this.carry = undefined;
    if (rest) {
      if (this.first && rest.length >= 3 && rest[0] === 0xef && rest[1] === 0xbb && rest[2] === 0xbf) this.scan(rest.subarray(3), true);
      else this.scan(rest, true);
    }
    if (!this.header) throw new DatasetProblem(`${this.uri}: is empty (no header row)`);
  }

  /** Column names of the header row (undefined before it is read). */
  get columns(): readonly string[] | undefined {
    return this.header;
  }

  /** Scans whole records from buf; returns where the first unfinished record starts (buf.length if none). */
  private scan(buf: Buffer, last: boolean): number {
    const n = buf.length;
    let pos = 0;
    while (pos < n) {
      const b = buf[pos]!;
      if (b === LF || b === CR) {
        pos++;
        continue;
      }
      const next = this.record(buf, pos, last);
      if (next < 0) return pos;
      this.deliver(buf);
      pos = next;
    }
    return n;
  }

  /** Finds the fields of the record starting at pos; returns the position after it, or -1 if buf ends first. */
  private record(buf: Buffer, start: number, last: boolean): number {
    const n = buf.length;
    const fields = this.fields;
    fields.count = 0;
    let pos = start;
    for (;;) {
      if (fields.count === fields.starts.length) grow(fields);
      const f = fields.count++;
      if (pos < n && buf[pos] === QUOTE) {
        let p = pos + 1;
        let escaped = 0;
        for (;;) {
          while (p < n && buf[p] !== QUOTE) p++;
          if (p >= n) {
            if (last) throw new DatasetProblem(`${this.uri}: row ${this.rows + 1}: a quoted field is not closed before the end of the file`);
            return -1;
          }
          if (p + 1 < n && buf[p + 1] === QUOTE) {
            escaped = ESCAPED;
            p += 2;
            continue;
          }
          if (p + 1 >= n && !last) return -1;
          break;
        }
        fields.starts[f] = pos + 1;
        fields.ends[f] = p;
        fields.flags[f] = QUOTED | escaped;
        pos = p + 1;
        if (pos < n && buf[pos] !== COMMA && buf[pos] !== LF && buf[pos] !== CR) {
          throw new DatasetProblem(`${this.uri}: row ${this.rows + 1}: characters after the closing quote of field ${f + 1}`);
        }
      } else {
        let p = pos;
        let flag = 0;
        if (f < this.numeric.length && this.numeric[f] === 1) {
          p = decimalInto(buf, pos, n, fields.values, f);
          if (!Number.isNaN(fields.values[f])) flag = PARSED;
        }
        // Unquoted: up to the next comma or line end (a quote inside is kept as text, as pandas keeps it).
        while (p < n) {
          const b = buf[p]!;
          if (b === COMMA || b === LF || b === CR) break;
          flag = 0;
          p++;
        }
        if (p >= n && !last) return -1;
        fields.starts[f] = pos;
        fields.ends[f] = p;
        fields.flags[f] = flag;
        pos = p;
      }
      if (pos >= n) return n;
      const d = buf[pos]!;
      if (d === COMMA) {
        pos++;
        continue;
      }
      // A CR at the very end of a chunk may be half of a CRLF; the LF then reads as an empty line, skipped.
      return pos + (d === CR && pos + 1 < n && buf[pos + 1] === LF ? 2 : 1);
    }
  }

  private text(buf: Buffer, f: number): string {
    const fields = this.fields;
    const s = buf.toString('utf8', fields.starts[f], fields.ends[f]);
    return fields.flags[f]! & ESCAPED ? s.replaceAll('""', '"') : s;
  }

  private deliver(buf: Buffer): void {
    const fields = this.fields;
    if (!this.header) {
      this.header = Array.from({ length: fields.count }, (_, f) => this.text(buf, f));
      const position = new Map<string, number>();
      // A repeated name: the first one counts.
      this.header.forEach((name, i) => {
        if (!position.has(name)) position.set(name, i);
      });
      this.sinks = new Array<ColumnBuilder | undefined>(fields.count);
      const absent: string[] = [];
      for (const builder of this.builders) {
        const at = position.get(builder.spec.name);
        if (at === undefined) absent.push(builder.spec.name);
        else this.sinks[at] = builder;
      }
      if (absent.length) throw new DatasetProblem(`${this.uri}: no column ${absent.join(', ')} (the model's input fields)`);
      this.numeric = Uint8Array.from(this.sinks, (sink) => (sink?.spec.kind === 'numerical' ? 1 : 0));
      return;
    }
    const row = ++this.rows;
    if (fields.count !== this.header.length) {
      throw new DatasetProblem(`${this.uri}: record ${row} (a data row) has ${fields.count} fields, but the header has ${this.header.length}`);
    }
    const sinks = this.sinks;
    for (let f = 0; f < fields.count; f++) {
      const sink = sinks[f];
      if (sink === undefined) continue;
      const flag = fields.flags[f]!;
      if (flag & PARSED) sink.addFrom(fields.values, f);
      else if (sink.spec.kind === 'categorical') {
        const label = this.text(buf, f);
        if (!MISSING.has(label)) sink.add(label, row);
      } else sink.addNumberText(this.text(buf, f), row);
    }
  }
}
