import { type ColumnBuilder, DatasetProblem, MISSING } from './dataset-columns.js';

/**
 * A streaming CSV reader (RFC 4180: a header row, comma-separated, fields optionally in double quotes with ""
 * for a quote, LF or CRLF line ends, a leading UTF-8 BOM dropped, empty lines skipped) that writes the wanted
 * columns straight into their builders. It scans bytes and parses plain decimal numbers from them without
 * making a string or a row object per cell; this is what makes a 100-column file read at disk speed rather
 * than at the speed of a general parser's per-record objects.
 *
 * Numbers: a plain decimal with at most 15 significant digits and a small exponent is m * 10^k with both
 * factors exact, so one multiplication or division gives the correctly rounded double (Clinger's fast path);
 * anything else goes through Number(), which is correctly rounded too. Either way the result is the double
 * nearest to the text, as Number() and Python's float() give.
 */

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;
const MINUS = 45;
const PLUS = 43;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const LOWER_E = 101;
const UPPER_E = 69;

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
/** 10^15: every integer below it is exact in a double, and so is its product with 10. */
const MANTISSA_LIMIT = 1e15;

/** Node's Buffer method behind toString('latin1'), without its argument checks (hot: most cells come here). */
interface Latin1 {
  latin1Slice(start: number, end: number): string;
}

/** Field boundaries of one record: start, end and flags (1 = quoted, 2 = quoted with "" escapes) per field. */
interface Fields {
  starts: Int32Array;
  ends: Int32Array;
  flags: Uint8Array;
  count: number;
}

function grow(fields: Fields): void {
  const size = fields.starts.length * 2;
  const starts = new Int32Array(size);
  const ends = new Int32Array(size);
  const flags = new Uint8Array(size);
  starts.set(fields.starts);
  ends.set(fields.ends);
  flags.set(fields.flags);
  Object.assign(fields, { starts, ends, flags });
}

export class CsvColumns {
  private carry: Buffer | undefined;
  private header: string[] | undefined;
  /** The builder of each field position of the header, or undefined for a column not asked for. */
  private sinks: (ColumnBuilder | undefined)[] = [];
  private readonly fields: Fields = { starts: new Int32Array(128), ends: new Int32Array(128), flags: new Uint8Array(128), count: 0 };
  private first = true;
  /** Data rows delivered so far (row numbers in messages count data rows from 1). */
  rows = 0;

  constructor(
    private readonly uri: string,
    private readonly builders: readonly ColumnBuilder[],
  ) {}

  push(chunk: Buffer): void {
    let buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    if (this.first) {
      if (buf.length < 3) {
        this.carry = buf;
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
            escaped = 2;
            p += 2;
            continue;
          }
          if (p + 1 >= n && !last) return -1;
          break;
        }
        fields.starts[f] = pos + 1;
        fields.ends[f] = p;
        fields.flags[f] = 1 | escaped;
        pos = p + 1;
        if (pos < n && buf[pos] !== COMMA && buf[pos] !== LF && buf[pos] !== CR) {
          throw new DatasetProblem(`${this.uri}: row ${this.rows + 1}: characters after the closing quote of field ${f + 1}`);
        }
      } else {
        let p = pos;
        // Unquoted: up to the next comma or line end (a quote inside is kept as text, as pandas keeps it).
        while (p < n) {
          const b = buf[p]!;
          if (b === COMMA || b === LF || b === CR) break;
          p++;
        }
        if (p >= n && !last) return -1;
        fields.starts[f] = pos;
        fields.ends[f] = p;
        fields.flags[f] = 0;
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
    return fields.flags[f]! & 2 ? s.replaceAll('""', '"') : s;
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
      if (sink.spec.kind === 'categorical') {
        const label = this.text(buf, f);
        if (!MISSING.has(label)) sink.add(label, row);
      } else if (fields.flags[f]! & 2) {
        sink.addNumberText(this.text(buf, f), row);
      } else {
        this.number(buf, fields.starts[f]!, fields.ends[f]!, sink, row);
      }
    }
  }

  /** A numerical cell: the fast path for plain decimals, else the builder's text rules (missing markers, inf). */
  private number(buf: Buffer, from: number, to: number, sink: ColumnBuilder, row: number): void {
    let s = from;
    let e = to;
    while (s < e && (buf[s] === SPACE || buf[s] === TAB)) s++;
    while (e > s && (buf[e - 1] === SPACE || buf[e - 1] === TAB)) e--;
    if (s === e) return; // empty: missing
    let p = s;
    let negative = false;
    if (buf[p] === MINUS || buf[p] === PLUS) {
      negative = buf[p] === MINUS;
      p++;
    }
    let mantissa = 0;
    let digits = 0; // digits of the mantissa, leading zeros excluded
    let scale = 0; // power of ten from digits after the point and digits dropped
    let exact = true;
    let seen = false;
    let b = buf[p];
    while (p < e && b! >= ZERO && b! <= NINE) {
      seen = true;
      if (mantissa !== 0 || b !== ZERO) {
        if (mantissa < MANTISSA_LIMIT / 10) {
          mantissa = mantissa * 10 + (b! - ZERO);
          digits++;
        } else exact = false;
      }
      p++;
      b = buf[p];
    }
    if (p < e && b === DOT) {
      p++;
      b = buf[p];
      while (p < e && b! >= ZERO && b! <= NINE) {
        seen = true;
        if (mantissa !== 0 || b !== ZERO) {
          if (mantissa < MANTISSA_LIMIT / 10) {
            mantissa = mantissa * 10 + (b! - ZERO);
            digits++;
            scale--;
          } else exact = false;
        } else scale--;
        p++;
        b = buf[p];
      }
    }
    if (seen && p < e && (b === LOWER_E || b === UPPER_E)) {
      p++;
      let expNegative = false;
      if (p < e && (buf[p] === MINUS || buf[p] === PLUS)) {
        expNegative = buf[p] === MINUS;
        p++;
      }
      let exponent = 0;
      let expDigits = 0;
      while (p < e && buf[p]! >= ZERO && buf[p]! <= NINE && exponent < 100000) {
        exponent = exponent * 10 + (buf[p]! - ZERO);
        expDigits++;
        p++;
      }
      if (expDigits === 0) seen = false;
      scale += expNegative ? -exponent : exponent;
    }
    if (!seen || p !== e) {
      // Not a plain decimal: a missing marker, inf, something Number() reads (e.g. 0x1f), or not a number.
      sink.addNumberText(buf.toString('utf8', from, to), row);
      return;
    }
    if (exact && digits <= 15 && scale >= -22 && scale <= 22) {
      const magnitude = mantissa === 0 ? 0 : scale >= 0 ? mantissa * POW10[scale]! : mantissa / POW10[-scale]!;
      sink.addNumber(negative ? -magnitude : magnitude);
      return;
    }
    sink.addNumber(Number((buf as unknown as Latin1).latin1Slice(s, e)));
  }
}
