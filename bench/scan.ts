import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { scanArtifact } from '../activities/scanning.js';
import { ensurePythonReference } from '../test/harness/python-reference.js';
import { testReadOptions } from '../test/harness/reading.js';

/**
 * `npm run bench:scan`: a 1 GB synthetic pickle, streamed to disk (never built in memory), scanned by
 * Steward's scan (sha256 plus the opcode walk, the activity's code path) and by picklescan 1.0.5 on the same
 * file in the same run, each in a process of its own so each peak RSS is its own.
 *
 * The pickle is one list of blocks, each a dict as scikit-learn-style code would pickle it: a numpy array of
 * 48,000 float64 (384 KB through numpy's _reconstruct and BINBYTES) and 4,000 small records (ints, floats,
 * short strings, tuples). Python writes one block's opcodes (with the memo off, so blocks can repeat), Node
 * repeats them between MARK/APPENDS up to the target size. BENCH_SCAN_MB changes the size.
 */

const TARGET_MB = Number(process.env.BENCH_SCAN_MB ?? 1024);
/**
 * picklescan walks opcodes in pure Python (about 1 MB/s on this kind of file under load), so by default it
 * gets a 64 MB file of the same blocks, and Steward is timed on that file too for the side-by-side ratio;
 * BENCH_PICKLESCAN_MB=full runs it on the 1 GB file itself.
 */
const PICKLESCAN_MB = process.env.BENCH_PICKLESCAN_MB === 'full' ? TARGET_MB : Number(process.env.BENCH_PICKLESCAN_MB ?? 64);
const run = promisify(execFile);
const say = (m: string) => process.stdout.write(`${m}\n`);

const BLOCK_PY = `
import pickle, sys, io
import numpy as np
rng = np.random.default_rng(1)
block = {"weights": rng.normal(size=48_000), "rows": [(i, float(i) * 0.5, f"row-{i}", {"ok": i % 2 == 0}) for i in range(4_000)]}
buf = io.BytesIO()
p = pickle.Pickler(buf, protocol=3)
p.fast = True  # no memo: the block's opcodes can be repeated in one pickle
p.dump(block)
data = buf.getvalue()
assert data[:2] == b"\\x80\\x03" and data[-1:] == b"."
sys.stdout.buffer.write(data[2:-1])
`;

const PICKLESCAN_PY = `
import json, resource, sys, time
from picklescan.scanner import scan_file_path
t = time.perf_counter()
r = scan_file_path(sys.argv[1])
elapsed = time.perf_counter() - t
print(json.dumps({"seconds": elapsed, "dangerous": r.infected_files > 0, "error": bool(r.scan_err), "globals": sorted(f"{g.module}.{g.name}" for g in r.globals), "maxRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
`;

/** Child mode: scan one file with Steward's scan and report time and this process's peak RSS. */
async function scanChild(path: string, sha256: string): Promise<void> {
  const rssBefore = process.resourceUsage().maxRSS / 1024;
  const t = performance.now();
  const result = await scanArtifact({ uri: pathToFileURL(path).href, sha256 }, testReadOptions({ maxBytes: 2 ** 40 }));
  const seconds = (performance.now() - t) / 1000;
  process.stdout.write(JSON.stringify({ seconds, rssBeforeMb: rssBefore, maxRssMb: process.resourceUsage().maxRSS / 1024, findings: result.findings, contents: result.contents }));
}

async function writeSynthetic(path: string, block: Buffer, targetMb: number): Promise<number> {
  const out = createWriteStream(path);
  const write = async (b: Buffer) => {
    if (!out.write(b)) await once(out, 'drain');
  };
  const perBatch = 16;
  const batch = Buffer.concat([Buffer.from('('), ...Array.from({ length: perBatch }, () => block), Buffer.from('e')]);
  await write(Buffer.from([0x80, 0x05, 0x5d]));
  let size = 3;
  while (size + batch.length + 1 <= targetMb * 1024 * 1024) {
    await write(batch);
    size += batch.length;
  }
  await write(Buffer.from('.'));
  out.end();
  await once(out, 'finish');
  return size + 1;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

async function synthetic(path: string, block: Buffer, targetMb: number): Promise<{ path: string; bytes: number; sha256: string }> {
  const t = performance.now();
  const bytes = await writeSynthetic(path, block, targetMb);
  say(`wrote a ${mb(bytes)} synthetic pickle (a ${(block.length / 1024).toFixed(0)} KB block repeated) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return { path, bytes, sha256: await sha256Of(path) };
}

/** Steward's scan in a child process, so its peak RSS is its own. */
async function stewardScan(file: { path: string; bytes: number; sha256: string }): Promise<{ mbs: number; maxRssMb: number }> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--scan-child', file.path, file.sha256], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await once(child, 'close');
  const r = JSON.parse(out) as { seconds: number; rssBeforeMb: number; maxRssMb: number; findings: { severity: string; code: string }[]; contents: { pickles: number; imports: string[] } };
  const mbs = file.bytes / 2 ** 20 / r.seconds;
  say(`Steward on ${mb(file.bytes)}: ${r.seconds.toFixed(1)} s, ${mbs.toFixed(1)} MB/s (sha256 + opcode walk), peak RSS ${r.maxRssMb.toFixed(0)} MB (${r.rssBeforeMb.toFixed(0)} MB before the scan)`);
  say(`  ${r.contents.pickles} pickle, imports ${r.contents.imports.join(', ')}; findings ${r.findings.map((f) => `${f.severity}:${f.code}`).join(', ') || 'none'}`);
  return { mbs, maxRssMb: r.maxRssMb };
}

async function main(): Promise<void> {
  const [mode, path, sha] = process.argv.slice(2);
  if (mode === '--scan-child') return scanChild(path!, sha!);

  say(`bench:scan on ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const { python } = await ensurePythonReference({ say });
  const dir = await mkdtemp(join(tmpdir(), 'steward-bench-scan-'));
  try {
    await writeFile(join(dir, 'block.py'), BLOCK_PY);
    await writeFile(join(dir, 'picklescan_run.py'), PICKLESCAN_PY);
    const block = (await run(python, [join(dir, 'block.py')], { encoding: 'buffer', maxBuffer: 1 << 26 })).stdout as Buffer;
    const big = await synthetic(join(dir, 'synthetic.pkl'), block, TARGET_MB);
    const stewardBig = await stewardScan(big);
    const small = PICKLESCAN_MB === TARGET_MB ? big : await synthetic(join(dir, 'synthetic-small.pkl'), block, PICKLESCAN_MB);
    const stewardSmall = small === big ? stewardBig : await stewardScan(small);
    const ps = JSON.parse((await run(python, [join(dir, 'picklescan_run.py'), small.path], { maxBuffer: 1 << 24 })).stdout) as { seconds: number; dangerous: boolean; error: boolean; globals: string[]; maxRssMb: number };
    const psMbs = small.bytes / 2 ** 20 / ps.seconds;
    say(`picklescan on ${mb(small.bytes)}: ${ps.seconds.toFixed(1)} s, ${psMbs.toFixed(1)} MB/s (opcode walk only), peak RSS ${ps.maxRssMb.toFixed(0)} MB; dangerous ${ps.dangerous}, error ${ps.error}, globals ${ps.globals.join(', ')}`);
    say(`ratio on the same ${mb(small.bytes)} file: Steward ${(stewardSmall.mbs / psMbs).toFixed(1)}x picklescan's throughput, ${(stewardSmall.maxRssMb / ps.maxRssMb).toFixed(2)}x its peak RSS`);
    say(`memory bounded by streaming: Steward's peak RSS ${stewardSmall.maxRssMb.toFixed(0)} MB on ${mb(small.bytes)}, ${stewardBig.maxRssMb.toFixed(0)} MB on ${mb(big.bytes)}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
