import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { judgeImport } from '../../activities/scan/allow-list.js';
import { Feeder } from '../../activities/scan/bytes.js';
import { scanContent } from '../../activities/scan/content.js';
import { walkPickles, type PickleWalk } from '../../activities/scan/pickle.js';

/** Hand-assembled pickles: every opcode's argument encoding, byte for byte as CPython writes it. */
const bytes = (...parts: (string | number | Buffer | number[])[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : typeof p === 'number' ? Buffer.from([p]) : Buffer.from(p))));
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
const shortUnicode = (s: string) => bytes(0x8c, Buffer.byteLength(s), s);

/** Walks a buffer fed in chunks of `chunk` bytes (1: every byte on its own). */
function walk(data: Buffer, chunk = data.length || 1): PickleWalk {
  const feeder = new Feeder((b) => walkPickles(b));
  for (let i = 0; i < data.length; i += chunk) feeder.write(data.subarray(i, i + chunk));
  return feeder.end();
}

const flagged = (w: PickleWalk) => w.imports.filter((i) => i.verdict !== 'allowed').map((i) => `${i.verdict} ${i.module}.${i.name} @${i.offset} ${i.opcode}`);

describe('pickle opcode walker', () => {
  it('resolves a protocol 0 GLOBAL and names the offset', () => {
    const w = walk(bytes("cos\nsystem\n(S'echo pwned'\ntR."));
    expect(flagged(w)).toEqual(['critical os.system @0 GLOBAL']);
    expect(w).toMatchObject({ pickles: 1, problems: [] });
  });

  it('resolves INST, which imports and calls in one opcode', () => {
    const w = walk(bytes("(S'id'\nisubprocess\ncheck_output\n."));
    expect(flagged(w)).toEqual(['critical subprocess.check_output @7 INST']);
  });

  it('resolves STACK_GLOBAL from strings pushed right before it (protocol 4 with FRAME and MEMOIZE)', () => {
    const body = bytes(shortUnicode('builtins'), 0x94, shortUnicode('eval'), 0x94, 0x93, 0x94, shortUnicode('1+1'), 0x94, 0x85, 0x94, 'R', 0x94, '.');
    const w = walk(bytes(0x80, 4, 0x95, u64(body.length), body));
    expect(flagged(w)).toEqual([`critical builtins.eval @${11 + 10 + 1 + 6 + 1} STACK_GLOBAL`]);
  });

  it('resolves STACK_GLOBAL whose strings come back from the memo (BINGET, LONG_BINGET, GET)', () => {
    // Strings stored early, popped, and fetched again just before STACK_GLOBAL: a deny-list that only looks
    // at the two opcodes before STACK_GLOBAL misses this.
    const viaBinget = bytes(0x80, 4, shortUnicode('os'), 0x94, '0', shortUnicode('system'), 0x94, '0', 'h', 0, 'h', 1, 0x93, ')R.');
    expect(flagged(walk(viaBinget))).toEqual(['critical os.system @22 STACK_GLOBAL']);
    const viaLong = bytes(0x80, 4, shortUnicode('pkgutil'), 'r', u32(70000), '0', 'X', u32(12), 'resolve_name', 'r', u32(3), '0', 'j', u32(70000), 'j', u32(3), 0x93, '.');
    expect(flagged(walk(viaLong))[0]).toMatch(/^critical pkgutil\.resolve_name @\d+ STACK_GLOBAL$/);
    const viaPut = bytes(0x80, 4, "Vimportlib\np7\n0Vimport_module\np8\n0g7\ng8\n", 0x93, '.');
    expect(flagged(walk(viaPut))[0]).toMatch(/^critical importlib\.import_module/);
  });

  it('judges every import against the allow-list: unknown is high, known-dangerous critical, safe rebuilders pass', () => {
    const benign = bytes(0x80, 2, 'ccollections\nOrderedDict\n', ')R', 'q', 0, '.');
    expect(walk(benign)).toMatchObject({ pickles: 1, problems: [], imports: [{ module: 'collections', name: 'OrderedDict', verdict: 'allowed' }] });
    expect(flagged(walk(bytes('cmy_module\nhelper\n)R.')))).toEqual(['high my_module.helper @0 GLOBAL']);
    const verdicts = {
      'pip.main': 'critical',
      'pip._internal.main': 'critical',
      'importlib.import_module': 'critical',
      'pkgutil.resolve_name': 'critical',
      'operator.attrgetter': 'critical',
      'operator.methodcaller': 'critical',
      'builtins.getattr': 'critical',
      'builtins.__import__': 'critical',
      'runpy._run_code': 'critical',
      'socket.create_connection': 'critical',
      'webbrowser.open': 'critical',
      'torch.storage._load_from_bytes': 'critical',
      'numpy.testing._private.utils.runstring': 'critical',
      'builtins.print': 'high',
      'functools.lru_cache': 'high',
      'sklearn.utils._testing.some_function': 'high',
      'numpy.core.multiarray._reconstruct': 'allowed',
      'numpy._core.multiarray._reconstruct': 'allowed',
      'numpy.dtype': 'allowed',
      'sklearn.linear_model._logistic.LogisticRegression': 'allowed',
      'scipy.sparse._csr.csr_matrix': 'allowed',
      'torch._utils._rebuild_tensor_v2': 'allowed',
      'torch.FloatStorage': 'allowed',
      'joblib.numpy_pickle.NumpyArrayWrapper': 'allowed',
      'builtins.set': 'allowed',
    };
    for (const [full, verdict] of Object.entries(verdicts)) {
      const dot = full.lastIndexOf('.');
      expect([full, judgeImport(full.slice(0, dot), full.slice(dot + 1))]).toEqual([full, verdict]);
    }
    // A dotted name reaches through an allowed global's attributes.
    expect(judgeImport('numpy.core.multiarray', '_reconstruct.__globals__')).toBe('high');
    expect(judgeImport('builtins', 'getattr.__self__')).toBe('critical');
  });

  it('skips every length-prefixed argument without buffering it (BINBYTES8, BYTEARRAY8, BINUNICODE8, LONG4)', () => {
    const big = 3 * 1024 * 1024;
    const data = bytes(
      0x80, 5, ']', '(',
      0x8e, u64(big), Buffer.alloc(big),
      0x96, u64(big), Buffer.alloc(big),
      0x8d, u64(5), 'hello',
      'B', u32(3), 'abc', 'C', 2, 'xy',
      0x8b, u32(9), Buffer.alloc(9), 0x8a, 2, [0xff, 0x7f],
      'T', u32(2), 'ab', 'U', 1, 'a', 'X', u32(2), 'hi',
      'G', Buffer.alloc(8), 'J', u32(7), 'K', 1, 'M', [1, 2], 'N', 0x88, 0x89, 'I01\n', 'L12L\n', 'F1.5\n',
      0x8f, '(', 'K', 1, 0x90, '(', 'K', 2, 0x91, ')', 'e', '0',
      'ccollections\nOrderedDict\n', ')R', '.',
    );
    const w = walk(data, 65536);
    expect(w).toMatchObject({ pickles: 1, problems: [] });
    expect(flagged(w)).toEqual([]);
    expect(w.opcodes).toBeGreaterThan(30);
  });

  it('gives the same result however the stream is chunked', () => {
    const data = bytes(0x80, 4, shortUnicode('os'), 0x94, shortUnicode('system'), 0x94, 0x93, shortUnicode('x'), 0x85, 'R.', 0x80, 2, "cbuiltins\nexec\n(S'1'\ntR.");
    const whole = walk(data);
    expect(whole.pickles).toBe(2);
    for (const chunk of [1, 2, 3, 7]) expect(walk(data, chunk)).toEqual(whole);
  });

  it('walks every pickle of a stream: a malicious one after a benign one is found', () => {
    const w = walk(bytes(0x80, 2, ']q', 0, '.', 0x80, 2, 'cposix\nsystem\nq', 0, 'X', u32(2), 'id', 0x85, 'R.'));
    expect(w.pickles).toBe(2);
    expect(flagged(w)).toEqual(['critical posix.system @8 GLOBAL']);
  });

  it('reports malformed pickles as problems, never throws', () => {
    const cases: [Buffer, RegExp][] = [
      [bytes(0x80, 4, 0xff), /unknown opcode 0xff at offset 2/],
      [bytes(0x80, 4, 0x95, [1, 0]), /the stream ends inside FRAME/],
      [bytes(0x80, 4, 0x93, '.'), /STACK_GLOBAL on an empty stack/],
      [bytes(0x80, 4, 'h', 9, '.'), /memo entry 9, which was never stored/],
      [bytes(0x80, 4, ']]'), /no STOP/],
      [bytes(0x80, 4, 'e.'), /APPENDS without a MARK/],
      [bytes(0x80, 9, '.'), /unsupported protocol 9/],
      [bytes(0x80, 4, 0x8d, u64(2 ** 60)), /declares/],
    ];
    for (const [data, message] of cases) {
      const w = walk(data);
      expect(w.problems).toHaveLength(1);
      expect(w.problems[0]).toMatchObject({ kind: 'malformed', message: expect.stringMatching(message) });
    }
    expect(walk(bytes(0x80, 2, 'N.', 'garbage'))).toMatchObject({ pickles: 1, problems: [{ kind: 'trailing', offset: 4 }] });
  });

  it('treats names computed at load time and extension codes as imports it cannot judge', () => {
    const computed = walk(bytes(0x80, 4, shortUnicode('os'), 'K', 1, 0x93, '.'));
    expect(computed.imports[0]).toMatchObject({ module: '<computed>', verdict: 'high', opcode: 'STACK_GLOBAL' });
    expect(walk(bytes(0x80, 2, 0x82, 7, ')R.')).imports[0]).toMatchObject({ module: '<extension-registry>', name: '7', verdict: 'high' });
  });
});

/** A zip with stored (uncompressed) members, as a test's own container builder. */
function storedZip(members: Record<string, Buffer>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(members)) {
    const n = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(n.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, n, data);
    centrals.push(central, n);
    offset += 30 + n.length + data.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(centrals.length / 2, 8);
  end.writeUInt16LE(centrals.length / 2, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

async function* chunks(data: Buffer, size = 4096): AsyncIterable<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

describe('content scan', () => {
  const tensorPickle = bytes(0x80, 2, 'ctorch._utils\n_rebuild_tensor_v2\nq', 0, '(', 'ctorch\nFloatStorage\n', 'Q', 'N', 't', 'R', '.');

  it('walks data.pkl inside a PyTorch zip and names the member and offset of a bad import', async () => {
    const evil = bytes(0x80, 2, 'cpip\nmain\n', ']', 'X', u32(7), 'install', 'a', 0x85, 'R.');
    const pt = storedZip({ 'archive/data.pkl': evil, 'archive/data/0': Buffer.alloc(64, 7), 'archive/version': Buffer.from('3\n') });
    const scan = await scanContent('model.pt', chunks(pt), { maxBytes: 1 << 20 });
    expect(scan.findings).toEqual([
      expect.objectContaining({ severity: 'critical', code: 'pickle-import', member: 'archive/data.pkl', offset: 2, import: 'pip.main', message: expect.stringContaining('archive/data.pkl imports pip.main (GLOBAL at offset 2)') }),
    ]);
    const good = storedZip({ 'archive/data.pkl': tensorPickle, 'archive/data/0': Buffer.alloc(64, 7) });
    expect((await scanContent('model.pt', chunks(good), { maxBytes: 1 << 20 })).findings).toEqual([]);
  });

  it('walks object arrays in .npy members of an .npz and skips plain ones', async () => {
    const header = (descr: string) => {
      const text = `{'descr': '${descr}', 'fortran_order': False, 'shape': (2,), }`.padEnd(117, ' ') + '\n';
      return bytes(0x93, 'NUMPY', 1, 0, [text.length & 0xff, text.length >> 8], text);
    };
    const npz = storedZip({
      'plain.npy': bytes(header('<f8'), Buffer.alloc(16, 0x63)),
      'objects.npy': bytes(header('|O'), 0x80, 3, 'cwebbrowser\nopen\nX', u32(3), 'x:y', 0x85, 'R.'),
    });
    const scan = await scanContent('arrays.npz', chunks(npz), { maxBytes: 1 << 20 });
    expect(scan.findings.map((f) => [f.member, f.import, f.severity])).toEqual([['objects.npy', 'webbrowser.open', 'critical']]);
  });

  it('stops at the byte budget inside an archive: a finding, not an exhausted worker', async () => {
    const zip = storedZip({ 'a.bin': Buffer.alloc(4000), 'b.bin': Buffer.alloc(4000) });
    const scan = await scanContent('bundle.zip', chunks(zip), { maxBytes: 5000 });
    expect(scan.findings).toEqual([expect.objectContaining({ severity: 'critical', code: 'archive-too-large' })]);
  });

  it('reports a protocol 0 pickle hiding under a text name, and leaves real text alone', async () => {
    const hidden = await scanContent('notes.txt', chunks(bytes("cos\nsystem\n(S'id'\ntR.")), { maxBytes: 1 << 20 });
    expect(hidden.findings.map((f) => f.import)).toEqual(['os.system']);
    const text = await scanContent('README.md', chunks(Buffer.from('(c) 2024 the authors\nlicense: see LICENSE\n')), { maxBytes: 1 << 20 });
    expect(text.findings).toEqual([]);
  });
});
