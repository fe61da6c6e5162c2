import { judgeImport, type ImportVerdict } from './allow-list.js';
import type { ChunkBuffer} from './bytes.js';
import { need, Truncated } from './bytes.js';

/**
 * A streaming pickle opcode walker (protocols 0-5). It never builds the objects: it simulates the unpickler's
 * stack and memo with small stand-in values, just enough to resolve what GLOBAL, INST and STACK_GLOBAL import
 * (STACK_GLOBAL's strings may come from anywhere on the stack or through the memo) and to follow joblib's
 * layout, where an array's raw bytes sit in the middle of the stream right after its wrapper's BUILD.
 * Several pickles in one stream are walked one after another.
 */

export interface PickleImport {
  readonly module: string;
  readonly name: string;
  /** Stream offset of the opcode that imports it. */
  readonly offset: number;
  readonly opcode: 'GLOBAL' | 'INST' | 'STACK_GLOBAL';
  readonly verdict: ImportVerdict;
}

export interface PickleProblem {
  /** `malformed`: not a pickle past this point (a loader fails here); `trailing`: bytes after the last STOP. */
  readonly kind: 'malformed' | 'trailing';
  readonly offset: number;
  readonly message: string;
}

export interface PickleWalk {
  /** Every import, in stream order (repeated imports of one global are reported once, at the first). */
  readonly imports: readonly PickleImport[];
  /** Why the stream is not a well-formed pickle, or what the walker could not follow. */
  readonly problems: readonly PickleProblem[];
  /** Pickles walked to their STOP. */
  readonly pickles: number;
  readonly opcodes: number;
}

/** Stand-ins for the unpickler's values; collections keep only their first few items. */
type Value =
  | { readonly k: 'mark' }
  | { readonly k: 'str'; readonly s: string }
  | { readonly k: 'int'; readonly n: number }
  | { readonly k: 'none' }
  | { readonly k: 'seq'; readonly items: Value[] }
  | { readonly k: 'dict'; readonly entries: [Value, Value][] }
  | { readonly k: 'global'; readonly name: string }
  | { readonly k: 'obj'; readonly cls: string | null; readonly args: Value; state?: Value }
  | { readonly k: 'other' };

const MARK: Value = { k: 'mark' };
const OTHER: Value = { k: 'other' };
const NONE: Value = { k: 'none' };
/** Items kept per collection: enough for a dtype's state or an array wrapper's attributes. */
const KEPT_ITEMS = 64;
/** Longest string kept as a value; longer ones cannot be a module or attribute name. */
const KEPT_STRING = 1024;
/** Longest protocol-0 text argument buffered; longer ones are skipped. */
const MAX_LINE = 1 << 16;

export class PickleError extends Error {
  constructor(
    message: string,
    readonly offset?: number,
  ) {
    super(message);
  }
}

const JOBLIB_WRAPPERS = new Set(['joblib.numpy_pickle.NumpyArrayWrapper', 'sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper']);

export interface WalkOptions {
  /** Called with every string value kept (at most KEPT_STRING characters), e.g. for secret detection. */
  readonly onString?: (s: string) => void;
}

/** The walker as a generator over a ChunkBuffer (drive it with Feeder). */
export function* walkPickles(b: ChunkBuffer, options: WalkOptions = {}): Generator<void, PickleWalk, void> {
  const imports: PickleImport[] = [];
  const seen = new Set<string>();
  const problems: PickleProblem[] = [];
  const counter = { opcodes: 0 };
  let pickles = 0;
  const onImport = (module: string, name: string, offset: number, opcode: PickleImport['opcode']) => {
    const key = `${module}\n${name}`;
    if (seen.has(key)) return;
    seen.add(key);
    imports.push({ module, name, offset, opcode, verdict: judgeImport(module, name) });
  };
  try {
    for (;;) {
      const start = b.offset;
      yield* walkOne(b, { onImport, counter, onString: options.onString });
      pickles++;
      // Another pickle may follow (several dumps into one file); anything else after a STOP is not loaded.
      if (b.available < 1) yield* waitOrEnd(b);
      if (b.available < 1) break;
      if (b.peek() !== 0x80) {
        problems.push({ kind: 'trailing', offset: b.offset, message: `${start === 0 ? 'the pickle' : 'a pickle'} is followed by bytes that are not a pickle; they were not walked` });
        break;
      }
    }
  } catch (err) {
    if (!(err instanceof Truncated || err instanceof PickleError)) throw err;
    const offset = err instanceof PickleError && err.offset !== undefined ? err.offset : b.offset;
    problems.push({ kind: 'malformed', offset, message: `malformed pickle: ${err.message}` });
  }
  return { imports, problems, pickles, opcodes: counter.opcodes };
}

function* waitOrEnd(b: ChunkBuffer): Generator<void, void, void> {
  while ((b.skipping || b.available < 1) && !b.ended) yield;
}

interface WalkContext {
  readonly onImport: (module: string, name: string, offset: number, opcode: PickleImport['opcode']) => void;
  readonly counter: { opcodes: number };
  readonly onString: ((s: string) => void) | undefined;
}

function* line(b: ChunkBuffer, what: string): Generator<void, string | null, void> {
  for (;;) {
    const i = b.indexOf(0x0a);
    if (i >= 0) {
      const text = b.take(i).toString('latin1');
      b.skip(1);
      return text;
    }
    if (b.available > MAX_LINE) {
      // Too long to be a name or number: skip to its end without buffering it.
      for (;;) {
        const j = b.indexOf(0x0a);
        if (j >= 0) {
          b.skip(j + 1);
          return null;
        }
        b.skip(b.available);
        if (b.ended) throw new Truncated(what);
        yield;
      }
    }
    if (b.ended) throw new Truncated(what);
    yield;
  }
}

/** Reads an n-byte string argument, keeping it only when short. */
function counted(b: ChunkBuffer, n: number, utf8: boolean, what: string): Generator<void, Value, void> | Value {
  if (n <= KEPT_STRING && b.has(n)) {
    const raw = b.take(n);
    return { k: 'str', s: raw.toString(utf8 ? 'utf8' : 'latin1') };
  }
  return countedSlow(b, n, utf8, what);
}

function* countedSlow(b: ChunkBuffer, n: number, utf8: boolean, what: string): Generator<void, Value, void> {
  if (n > KEPT_STRING) {
    b.skip(n);
    return OTHER;
  }
  if (b.skipping || b.available < n) yield* need(b, n, what);
  const raw = b.take(n);
  return { k: 'str', s: raw.toString(utf8 ? 'utf8' : 'latin1') };
}

function* fixed(b: ChunkBuffer, n: number, what: string): Generator<void, Buffer, void> {
  if (b.skipping || b.available < n) yield* need(b, n, what);
  return b.take(n);
}

function length8(raw: Buffer, what: string): number {
  const n = raw.readBigUInt64LE(0);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new PickleError(`${what} declares ${n} bytes`);
  return Number(n);
}

function signedLittle(raw: Buffer): number {
  if (raw.length === 0) return 0;
  if (raw.length > 6) return Number.NaN;
  return raw.readIntLE(0, raw.length);
}

/** Python repr of a protocol-0 STRING: quoted, with backslash escapes. Only names matter, so escapes are approximate. */
function unquote(text: string): string | null {
  const q = text[0];
  if ((q !== "'" && q !== '"') || text.length < 2 || text[text.length - 1] !== q) return null;
  return text.slice(1, -1).replace(/\\x([0-9a-fA-F]{2})|\\(.)/g, (_m, hex: string | undefined, c: string | undefined) =>
    hex ? String.fromCharCode(parseInt(hex, 16)) : c === 'n' ? '\n' : c === 't' ? '\t' : (c ?? ''),
  );
}

function* walkOne(b: ChunkBuffer, ctx: WalkContext): Generator<void, void, void> {
  const stack: Value[] = [];
  const memo = new Map<number, Value>();
  const pop = (what: string): Value => {
    const v = stack.pop();
    if (v === undefined || v === MARK) throw new PickleError(`${what} on an empty stack`);
    return v;
  };
  const top = (what: string): Value => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) throw new PickleError(`${what} on an empty stack`);
    return v;
  };
  const popMark = (what: string): Value[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw new PickleError(`${what} without a MARK`);
    return stack.splice(i).slice(1);
  };
  const push = (v: Value) => stack.push(v);
  const str = (s: string): Value => {
    ctx.onString?.(s);
    return { k: 'str', s };
  };
  const seq = (items: Value[]): Value => ({ k: 'seq', items: items.slice(0, KEPT_ITEMS) });
  const call = (callable: Value, args: Value): Value => ({ k: 'obj', cls: callable.k === 'global' ? callable.name : null, args });
  const memoGet = (i: number, what: string): Value => {
    const v = memo.get(i);
    if (v === undefined) throw new PickleError(`${what} of memo entry ${i}, which was never stored`);
    return v;
  };
  const global = (module: string, name: string, offset: number, opcode: PickleImport['opcode']): Value => {
    ctx.onImport(module, name, offset, opcode);
    return { k: 'global', name: `${module}.${name}` };
  };

  for (;;) {
    if (b.skipping || b.available < 1) yield* need(b, 1, 'the pickle (no STOP opcode)');
    const at = b.offset;
    const op = b.u8();
    ctx.counter.opcodes++;
    switch (op) {
      case 0x2e: // STOP
        if (stack.length !== 1) throw new PickleError(`STOP with ${stack.length} values on the stack at offset ${at}`, at);
        return;
      case 0x80: {
        // PROTO
        const v = (b.has(1) ? b.take(1) : yield* fixed(b, 1, 'PROTO'))[0]!;
        if (v > 5) throw new PickleError(`unsupported protocol ${v} at offset ${at}`, at);
        break;
      }
      case 0x95: // FRAME: its length only groups the opcodes that follow
        yield* fixed(b, 8, 'FRAME');
        break;
      case 0x28: // MARK
        push(MARK);
        break;
      case 0x30: {
        // POP (of a lone MARK too, as CPython does)
        if (stack.length === 0) throw new PickleError(`POP on an empty stack at offset ${at}`, at);
        stack.pop();
        break;
      }
      case 0x31: // POP_MARK
        popMark('POP_MARK');
        break;
      case 0x32: // DUP
        push(top('DUP'));
        break;
      // numbers and constants
      case 0x46: // FLOAT
      case 0x4c: // LONG
        yield* line(b, 'FLOAT/LONG');
        push(OTHER);
        break;
      case 0x49: {
        // INT (also True/False as 01/00)
        const text = yield* line(b, 'INT');
        const n = text === null ? Number.NaN : Number(text.trim());
        push(Number.isSafeInteger(n) ? { k: 'int', n } : OTHER);
        break;
      }
      case 0x4a: // BININT
        push({ k: 'int', n: (b.has(4) ? b.take(4) : yield* fixed(b, 4, 'BININT')).readInt32LE(0) });
        break;
      case 0x4b: // BININT1
        push({ k: 'int', n: (b.has(1) ? b.take(1) : yield* fixed(b, 1, 'BININT1'))[0]! });
        break;
      case 0x4d: // BININT2
        push({ k: 'int', n: (b.has(2) ? b.take(2) : yield* fixed(b, 2, 'BININT2')).readUInt16LE(0) });
        break;
      case 0x8a: {
        // LONG1
        const n = (b.has(1) ? b.take(1) : yield* fixed(b, 1, 'LONG1'))[0]!;
        const v = signedLittle(yield* fixed(b, n, 'LONG1'));
        push(Number.isSafeInteger(v) ? { k: 'int', n: v } : OTHER);
        break;
      }
      case 0x8b: {
        // LONG4
        const n = (b.has(4) ? b.take(4) : yield* fixed(b, 4, 'LONG4')).readInt32LE(0);
        if (n < 0) throw new PickleError(`LONG4 with negative length at offset ${at}`, at);
        if (n <= 6) {
          const v = signedLittle(yield* fixed(b, n, 'LONG4'));
          push(Number.isSafeInteger(v) ? { k: 'int', n: v } : OTHER);
        } else {
          b.skip(n);
          push(OTHER);
        }
        break;
      }
      case 0x47: // BINFLOAT
        yield* fixed(b, 8, 'BINFLOAT');
        push(OTHER);
        break;
      case 0x4e: // NONE
        push(NONE);
        break;
      case 0x88: // NEWTRUE
      case 0x89: // NEWFALSE
        push(OTHER);
        break;
      // strings and bytes
      case 0x53: {
        // STRING
        const text = yield* line(b, 'STRING');
        const s = text === null ? null : unquote(text.trimEnd());
        if (text !== null && s === null) throw new PickleError(`STRING argument is not quoted at offset ${at}`, at);
        push(s === null ? OTHER : str(s));
        break;
      }
      case 0x56: {
        // UNICODE (raw-unicode-escape)
        const text = yield* line(b, 'UNICODE');
        push(text === null ? OTHER : str(text.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, a: string | undefined, c: string | undefined) => String.fromCodePoint(parseInt(a ?? c!, 16)))));
        break;
      }
      case 0x54: {
        // BINSTRING
        const n = (b.has(4) ? b.take(4) : yield* fixed(b, 4, 'BINSTRING')).readInt32LE(0);
        if (n < 0) throw new PickleError(`BINSTRING with negative length at offset ${at}`, at);
        const read = counted(b, n, false, 'BINSTRING');
        const v = 'k' in read ? read : yield* read;
        push(v.k === 'str' ? str(v.s) : v);
        break;
      }
      case 0x55: {
        // SHORT_BINSTRING
        const read = counted(b, (b.has(1) ? b.take(1) : yield* fixed(b, 1, 'SHORT_BINSTRING'))[0]!, false, 'SHORT_BINSTRING');
        const v = 'k' in read ? read : yield* read;
        push(v.k === 'str' ? str(v.s) : v);
        break;
      }
      case 0x58: {
        // BINUNICODE
        const read = counted(b, (b.has(4) ? b.take(4) : yield* fixed(b, 4, 'BINUNICODE')).readUInt32LE(0), true, 'BINUNICODE');
        const v = 'k' in read ? read : yield* read;
        push(v.k === 'str' ? str(v.s) : v);
        break;
      }
      case 0x8c: {
        // SHORT_BINUNICODE
        const read = counted(b, (b.has(1) ? b.take(1) : yield* fixed(b, 1, 'SHORT_BINUNICODE'))[0]!, true, 'SHORT_BINUNICODE');
        const v = 'k' in read ? read : yield* read;
        push(v.k === 'str' ? str(v.s) : v);
        break;
      }
      case 0x8d: {
        // BINUNICODE8
        const read = counted(b, length8(b.has(8) ? b.take(8) : yield* fixed(b, 8, 'BINUNICODE8'), 'BINUNICODE8'), true, 'BINUNICODE8');
        const v = 'k' in read ? read : yield* read;
        push(v.k === 'str' ? str(v.s) : v);
        break;
      }
      case 0x42: // BINBYTES
        b.skip((b.has(4) ? b.take(4) : yield* fixed(b, 4, 'BINBYTES')).readUInt32LE(0));
        push(OTHER);
        break;
      case 0x43: // SHORT_BINBYTES
        b.skip((b.has(1) ? b.take(1) : yield* fixed(b, 1, 'SHORT_BINBYTES'))[0]!);
        push(OTHER);
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        b.skip(length8(b.has(8) ? b.take(8) : yield* fixed(b, 8, op === 0x8e ? 'BINBYTES8' : 'BYTEARRAY8'), 'BINBYTES8/BYTEARRAY8'));
        push(OTHER);
        break;
      case 0x97: // NEXT_BUFFER (out-of-band data, not in this stream)
        push(OTHER);
        break;
      case 0x98: // READONLY_BUFFER
        top('READONLY_BUFFER');
        break;
      // collections
      case 0x29: // EMPTY_TUPLE
        push(seq([]));
        break;
      case 0x5d: // EMPTY_LIST
        push(seq([]));
        break;
      case 0x7d: // EMPTY_DICT
        push({ k: 'dict', entries: [] });
        break;
      case 0x8f: // EMPTY_SET
        push(OTHER);
        break;
      case 0x74: // TUPLE
      case 0x6c: // LIST
        push(seq(popMark(op === 0x74 ? 'TUPLE' : 'LIST')));
        break;
      case 0x91: // FROZENSET
        popMark('FROZENSET');
        push(OTHER);
        break;
      case 0x85: // TUPLE1
        push(seq([pop('TUPLE1')]));
        break;
      case 0x86: {
        // TUPLE2
        const y = pop('TUPLE2');
        push(seq([pop('TUPLE2'), y]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const z = pop('TUPLE3');
        const y = pop('TUPLE3');
        push(seq([pop('TUPLE3'), y, z]));
        break;
      }
      case 0x64: {
        // DICT
        const items = popMark('DICT');
        push({ k: 'dict', entries: pairs(items) });
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop('APPEND');
        appendTo(top('APPEND'), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark('APPENDS');
        appendTo(top('APPENDS'), items);
        break;
      }
      case 0x90: // ADDITEMS
        popMark('ADDITEMS');
        top('ADDITEMS');
        break;
      case 0x73: {
        // SETITEM
        const v = pop('SETITEM');
        const k = pop('SETITEM');
        setItems(top('SETITEM'), [[k, v]]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark('SETITEMS');
        setItems(top('SETITEMS'), pairs(items));
        break;
      }
      // memo
      case 0x70: {
        // PUT
        const text = yield* line(b, 'PUT');
        const i = text === null ? Number.NaN : Number(text);
        if (!Number.isSafeInteger(i) || i < 0) throw new PickleError(`PUT with a bad index at offset ${at}`, at);
        memo.set(i, top('PUT'));
        break;
      }
      case 0x71: // BINPUT
        memo.set((b.has(1) ? b.take(1) : yield* fixed(b, 1, 'BINPUT'))[0]!, top('BINPUT'));
        break;
      case 0x72: // LONG_BINPUT
        memo.set((b.has(4) ? b.take(4) : yield* fixed(b, 4, 'LONG_BINPUT')).readUInt32LE(0), top('LONG_BINPUT'));
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top('MEMOIZE'));
        break;
      case 0x67: {
        // GET
        const text = yield* line(b, 'GET');
        const i = text === null ? Number.NaN : Number(text);
        if (!Number.isSafeInteger(i)) throw new PickleError(`GET with a bad index at offset ${at}`, at);
        push(memoGet(i, 'GET'));
        break;
      }
      case 0x68: // BINGET
        push(memoGet((b.has(1) ? b.take(1) : yield* fixed(b, 1, 'BINGET'))[0]!, 'BINGET'));
        break;
      case 0x6a: // LONG_BINGET
        push(memoGet((b.has(4) ? b.take(4) : yield* fixed(b, 4, 'LONG_BINGET')).readUInt32LE(0), 'LONG_BINGET'));
        break;
      // imports and calls
      case 0x63: {
        // GLOBAL
        const module = yield* line(b, 'GLOBAL');
        const name = yield* line(b, 'GLOBAL');
        if (module === null || name === null) throw new PickleError(`GLOBAL with an over-long name at offset ${at}`, at);
        push(global(module, name, at, 'GLOBAL'));
        break;
      }
      case 0x69: {
        // INST: imports, then calls the class with the values above the MARK
        const module = yield* line(b, 'INST');
        const name = yield* line(b, 'INST');
        if (module === null || name === null) throw new PickleError(`INST with an over-long name at offset ${at}`, at);
        const args = popMark('INST');
        push(call(global(module, name, at, 'INST'), seq(args)));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop('STACK_GLOBAL');
        const module = pop('STACK_GLOBAL');
        if (module.k !== 'str' || name.k !== 'str') {
          // Names computed at load time cannot be judged: treat as an import of something unknown.
          ctx.onImport('<computed>', `<${describe(module)}>.<${describe(name)}>`, at, 'STACK_GLOBAL');
          push({ k: 'global', name: '<computed>' });
        } else {
          push(global(module.s, name.s, at, 'STACK_GLOBAL'));
        }
        break;
      }
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: {
        // EXT4: a global from copyreg's extension registry, which this walker cannot see
        const n = op === 0x82 ? 1 : op === 0x83 ? 2 : 4;
        const raw = yield* fixed(b, n, 'EXT');
        ctx.onImport('<extension-registry>', String(raw.readUIntLE(0, n)), at, 'GLOBAL');
        push({ k: 'global', name: '<extension>' });
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop('REDUCE');
        push(call(pop('REDUCE'), args));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop('NEWOBJ');
        push(call(pop('NEWOBJ'), args));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        pop('NEWOBJ_EX');
        const args = pop('NEWOBJ_EX');
        push(call(pop('NEWOBJ_EX'), args));
        break;
      }
      case 0x6f: {
        // OBJ
        const items = popMark('OBJ');
        if (items.length === 0) throw new PickleError(`OBJ without a class at offset ${at}`, at);
        push(call(items[0]!, seq(items.slice(1))));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop('BUILD');
        const target = top('BUILD');
        if (target.k === 'obj') target.state = state;
        if (target.k === 'obj' && target.cls && JOBLIB_WRAPPERS.has(target.cls)) {
          yield* skipJoblibArray(b, target, at, ctx);
        }
        break;
      }
      case 0x50: // PERSID
        yield* line(b, 'PERSID');
        push(OTHER);
        break;
      case 0x51: // BINPERSID
        pop('BINPERSID');
        push(OTHER);
        break;
      default:
        throw new PickleError(`unknown opcode 0x${op.toString(16).padStart(2, '0')} at offset ${at}`, at);
    }
  }
}

function describe(v: Value): string {
  return v.k === 'str' ? v.s : v.k;
}

function pairs(items: Value[]): [Value, Value][] {
  if (items.length % 2 !== 0) throw new PickleError('an odd number of dict items');
  const out: [Value, Value][] = [];
  for (let i = 0; i + 1 < items.length && out.length < KEPT_ITEMS; i += 2) out.push([items[i]!, items[i + 1]!]);
  return out;
}

function appendTo(target: Value, items: Value[]): void {
  if (target.k !== 'seq') return;
  for (const v of items) {
    if (target.items.length >= KEPT_ITEMS) return;
    target.items.push(v);
  }
}

function setItems(target: Value, entries: [Value, Value][]): void {
  if (target.k !== 'dict') return;
  for (const e of entries) {
    if (target.entries.length >= KEPT_ITEMS) return;
    target.entries.push(e);
  }
}

function attr(state: Value | undefined, key: string): Value | undefined {
  if (state?.k !== 'dict') return undefined;
  return state.entries.find(([k]) => k.k === 'str' && k.s === key)?.[1];
}

/** numpy dtype stand-in → item size and whether it holds Python objects. */
function dtypeOf(v: Value | undefined): { itemsize: number; hasObject: boolean } | null {
  if (v?.k !== 'obj' || v.cls !== 'numpy.dtype' || v.args.k !== 'seq') return null;
  const spec = v.args.items[0];
  if (spec?.k !== 'str') return null;
  const m = /^[<>|=]?([a-zA-Z?])(\d*)$/.exec(spec.s);
  if (!m) return null;
  const state = v.state?.k === 'seq' ? v.state.items : [];
  const elsize = state[5]?.k === 'int' ? state[5].n : -1;
  const flags = state[7]?.k === 'int' ? state[7].n : 0;
  const kind = m[1]!;
  const hasObject = kind === 'O' || (flags & 1) === 1;
  const defaults: Record<string, number> = { '?': 1, b: 1, B: 1, h: 2, H: 2, i: 4, I: 4, l: 8, L: 8, q: 8, Q: 8, e: 2, f: 4, d: 8, g: 16, F: 8, D: 16, G: 32, O: 8 };
  let size = m[2] ? Number(m[2]) : (defaults[kind] ?? -1);
  if (kind === 'U' && m[2]) size *= 4;
  if (elsize > 0) size = elsize;
  return size > 0 || hasObject ? { itemsize: size, hasObject } : null;
}

/**
 * joblib writes each array's bytes right after its NumpyArrayWrapper's BUILD: an optional padding-length byte
 * and padding, then shape × itemsize raw bytes; an object array is a nested pickle instead, walked here.
 */
function* skipJoblibArray(b: ChunkBuffer, wrapper: Extract<Value, { k: 'obj' }>, at: number, ctx: WalkContext): Generator<void, void, void> {
  const shape = attr(wrapper.state, 'shape');
  const dtype = dtypeOf(attr(wrapper.state, 'dtype'));
  if (shape?.k !== 'seq' || !shape.items.every((d) => d.k === 'int' && d.n >= 0) || !dtype) {
    throw new PickleError(`joblib array wrapper at offset ${at} has a shape or dtype this walker cannot read, so its data cannot be skipped`);
  }
  if (dtype.hasObject) {
    // A fresh unpickler reads the nested stream; its imports are judged like any other.
    yield* walkOne(b, ctx);
    return;
  }
  const alignment = attr(wrapper.state, 'numpy_array_alignment_bytes');
  if (alignment && alignment.k === 'int') {
    const pad = (b.has(1) ? b.take(1) : yield* fixed(b, 1, 'joblib padding'))[0]!;
    b.skip(pad);
  }
  const count = shape.items.reduce((n, d) => n * (d as { n: number }).n, 1);
  b.skip(count * dtype.itemsize);
}
