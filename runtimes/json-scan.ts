/**
 * A validating JSON scanner over bytes: finds where values start and end without building them. The scoring
 * hot path reads a V2 body's envelope (id, tensor names, shapes, datatypes) and forwards the tensors' bytes
 * as they came, so it neither pays to parse and re-serialise every number nor loses INT64 values beyond
 * 2^53 or the runtime's own float formatting on the way.
 */

/** Where one JSON value lies in a buffer: bytes [start, end). */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** One member of a JSON object: its decoded key and where its value lies. */
export interface Member {
  readonly key: string;
  readonly value: Span;
}

/** The bytes are not JSON (or nest deeper than the scanner follows): the caller falls back to JSON.parse. */
export class JsonScanError extends Error {
  override readonly name = 'JsonScanError';
}

/** Deeper documents are left to JSON.parse; tensors nest as deep as their rank (at most 16). */
const MAX_DEPTH = 128;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const fail = (what: string, at: number): never => {
  throw new JsonScanError(`${what} at byte ${at}`);
};

const isDigit = (c: number | undefined) => c !== undefined && c >= ZERO && c <= NINE;

export function skipWhitespace(b: Uint8Array, i: number): number {
  for (;;) {
    const c = b[i];
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

/** `i` at the opening quote; returns the index after the closing one. */
function skipString(b: Uint8Array, i: number): number {
  for (i++; ; i++) {
    const c = b[i];
    if (c === undefined) return fail('unterminated string', i);
    if (c === QUOTE) return i + 1;
    if (c < 0x20) return fail('control character in a string', i);
    if (c === BACKSLASH) {
      const e = b[++i];
      if (e === 0x75) {
        if (!(isHex(b[i + 1]) && isHex(b[i + 2]) && isHex(b[i + 3]) && isHex(b[i + 4]))) return fail('bad \\u escape', i);
        i += 4;
      } else if (e !== QUOTE && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) {
        return fail('bad escape', i);
      }
    }
  }
}

function skipNumber(b: Uint8Array, i: number): number {
  if (b[i] === MINUS) i++;
  if (b[i] === ZERO) i++;
  else if (isDigit(b[i])) while (isDigit(b[i])) i++;
  else return fail('bad number', i);
  if (b[i] === DOT) {
    i++;
    if (!isDigit(b[i])) return fail('bad number', i);
    while (isDigit(b[i])) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === PLUS || b[i] === MINUS) i++;
    if (!isDigit(b[i])) return fail('bad number', i);
    while (isDigit(b[i])) i++;
  }
  return i;
}

function skipLiteral(b: Uint8Array, i: number, word: string): number {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return fail('unexpected token', i);
  return i + word.length;
}

/** `i` at the first byte of a value (no whitespace); returns the index after it. */
export function skipValue(b: Uint8Array, i: number, depth = 0): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i);
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    if (depth >= MAX_DEPTH) return fail('nested too deeply', i);
    const object = c === OPEN_BRACE;
    const close = object ? CLOSE_BRACE : CLOSE_BRACKET;
    i = skipWhitespace(b, i + 1);
    if (b[i] === close) return i + 1;
    for (;;) {
      if (object) {
        if (b[i] !== QUOTE) return fail('expected a key', i);
        i = skipWhitespace(b, skipString(b, i));
        if (b[i] !== COLON) return fail('expected ":"', i);
        i = skipWhitespace(b, i + 1);
      }
      i = skipWhitespace(b, skipValue(b, i, depth + 1));
      if (b[i] === COMMA) i = skipWhitespace(b, i + 1);
      else if (b[i] === close) return i + 1;
      else return fail(`expected "," or "${object ? '}' : ']'}"`, i);
    }
  }
  if (c === MINUS || isDigit(c)) return skipNumber(b, i);
  if (c === 0x74) return skipLiteral(b, i, 'true');
  if (c === 0x66) return skipLiteral(b, i, 'false');
  if (c === 0x6e) return skipLiteral(b, i, 'null');
  return fail(c === undefined ? 'unexpected end' : 'unexpected token', i);
}

/** The one value a whole document holds (whitespace around it allowed). */
export function scanDocument(b: Uint8Array): Span {
  const start = skipWhitespace(b, 0);
  const end = skipValue(b, start);
  if (skipWhitespace(b, end) !== b.length) fail('unexpected data after the value', end);
  return { start, end };
}

const decoder = new TextDecoder();

/** A string value's text (the span includes its quotes). */
export function stringAt(b: Uint8Array, span: Span): string {
  for (let i = span.start + 1; i < span.end - 1; i++) {
    if (b[i] === BACKSLASH) return JSON.parse(decoder.decode(b.subarray(span.start, span.end))) as string;
  }
  return decoder.decode(b.subarray(span.start + 1, span.end - 1));
}

/** Any small value, built (for names, shapes and single numbers, never for tensors' data). */
export function valueAt(b: Uint8Array, span: Span): unknown {
  return JSON.parse(decoder.decode(b.subarray(span.start, span.end)));
}

export const kindAt = (b: Uint8Array, span: Span): 'object' | 'array' | 'string' | 'other' =>
  b[span.start] === OPEN_BRACE ? 'object' : b[span.start] === OPEN_BRACKET ? 'array' : b[span.start] === QUOTE ? 'string' : 'other';

/** The members of an already scanned object, in order; a repeated key appears twice (JSON.parse keeps the last). */
export function membersOf(b: Uint8Array, object: Span): Member[] {
  const members: Member[] = [];
  let i = skipWhitespace(b, object.start + 1);
  if (b[i] === CLOSE_BRACE) return members;
  for (;;) {
    const keyEnd = skipString(b, i);
    const key = stringAt(b, { start: i, end: keyEnd });
    const start = skipWhitespace(b, skipWhitespace(b, keyEnd) + 1);
    const end = skipValue(b, start, 1);
    members.push({ key, value: { start, end } });
    i = skipWhitespace(b, end);
    if (b[i] !== COMMA) return members;
    i = skipWhitespace(b, i + 1);
  }
}

/** The elements of an already scanned array, in order. */
export function elementsOf(b: Uint8Array, array: Span): Span[] {
  const elements: Span[] = [];
  let i = skipWhitespace(b, array.start + 1);
  if (b[i] === CLOSE_BRACKET) return elements;
  for (;;) {
    const end = skipValue(b, i, 1);
    elements.push({ start: i, end });
    i = skipWhitespace(b, end);
    if (b[i] !== COMMA) return elements;
    i = skipWhitespace(b, i + 1);
  }
}

/** The members as a lookup (the last of a repeated key wins, as in JSON.parse). */
export function memberMap(b: Uint8Array, object: Span): Map<string, Span> {
  const map = new Map<string, Span>();
  for (const m of membersOf(b, object)) map.set(m.key, m.value);
  return map;
}

/**
 * The first `limit` scalars of a flat or nested array, in row-major order, built without touching the rest:
 * what a request log keeps of a tensor.
 */
export function firstScalars(b: Uint8Array, array: Span, limit: number): unknown[] {
  // The scalars' bytes, gathered and then built in one JSON.parse rather than one per value.
  const spans: Span[] = [];
  let emptyRow = false;
  /** Returns true once the limit is reached, so the rest of the tensor is never walked. */
  const walk = (start: number): boolean => {
    let i = skipWhitespace(b, start + 1);
    if (b[i] === CLOSE_BRACKET) {
      emptyRow = true;
      return false;
    }
    for (;;) {
      if (spans.length >= limit) return true;
      const end = skipValue(b, i, 1);
      if (b[i] === OPEN_BRACKET) {
        if (walk(i)) return true;
      } else {
        spans.push({ start: i, end });
      }
      i = skipWhitespace(b, end);
      if (b[i] !== COMMA) return false;
      i = skipWhitespace(b, i + 1);
    }
  };
  walk(array.start);
  if (spans.length === 0) return [];
  // Numbers and literals hold no brackets: the range from the first to the last, brackets dropped, is the list
  // (unless strings or empty rows are among them).
  const text = emptyRow || spans.some((s) => b[s.start] === QUOTE)
    ? spans.map((s) => decoder.decode(b.subarray(s.start, s.end))).join(',')
    : decoder.decode(b.subarray(spans[0]!.start, spans[spans.length - 1]!.end)).replace(/[[\]]/g, '');
  return JSON.parse(`[${text}]`) as unknown[];
}
