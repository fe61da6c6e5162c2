import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { detectColumnDrift, prepareColumn, type PreparedColumn } from '../activities/drift/index.js';
import { seededRandom } from '../test/harness/datasets.js';

/**
 * `npm run bench:drift`: the two-sample Kolmogorov-Smirnov drift test on 10^6 reference values against
 * 10^6 current values, in TypeScript and in scipy's ks_2samp on the same data.
 *
 * The monitor prepares (filters and sorts) a reference once and compares it with many windows, so the
 * TypeScript figures are split into the one-off reference preparation and the per-window cost (prepare the
 * window, then the O(n1 + n2) merge and the p-value). scipy's ks_2samp sorts both samples on every call, so
 * it is compared with both the per-window cost and the whole cost (both preparations plus the test).
 * Two windows: one from the reference distribution (the p-value comes from the Pelz-Good series) and one
 * shifted by 0.005 standard deviations (the p-value comes from the one-sided Smirnov sum, the slowest path).
 * If python3 with numpy and scipy is not available, only the TypeScript timings are printed.
 */

const N = 1_000_000;
const RUNS = 5;

const say = (m: string) => process.stdout.write(`${m}\n`);
const ms = (n: number) => `${n.toFixed(n < 10 ? 2 : 1)} ms`;
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Seeded standard normal values: mulberry32 uniforms through Box-Muller. */
function normals(n: number, seed: number, shift: number): Float64Array {
  const uniform = seededRandom(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - uniform()));
    const theta = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(theta) + shift;
    if (i + 1 < n) out[i + 1] = r * Math.sin(theta) + shift;
  }
  return out;
}

function timed<T>(fn: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = fn();
  return { value, ms: performance.now() - start };
}

interface ScipyResult {
  readonly pvalue: number;
  readonly statistic: number;
  readonly ms: number[];
  readonly versions: string;
}

const SCIPY_SCRIPT = `
import json, sys, time
import numpy as np, scipy
from scipy.stats import ks_2samp
x = np.fromfile(sys.argv[1], dtype='<f8')
y = np.fromfile(sys.argv[2], dtype='<f8')
runs = int(sys.argv[3])
times = []
for _ in range(runs):
    t = time.perf_counter()
    r = ks_2samp(x, y)
    times.append((time.perf_counter() - t) * 1000)
print(json.dumps({"pvalue": float(r.pvalue), "statistic": float(r.statistic), "ms": times,
                  "versions": f"numpy {np.__version__}, scipy {scipy.__version__}"}))
`;

async function scipyKs(dir: string, reference: Float64Array, current: Float64Array, label: string): Promise<ScipyResult | string> {
  const refFile = join(dir, `reference-${label}.f64`);
  const curFile = join(dir, `current-${label}.f64`);
  await writeFile(refFile, new Uint8Array(reference.buffer, reference.byteOffset, reference.byteLength));
  await writeFile(curFile, new Uint8Array(current.buffer, current.byteOffset, current.byteLength));
  const run = spawnSync('python3', ['-c', SCIPY_SCRIPT, refFile, curFile, String(RUNS)], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (run.error) return `python3 could not be started (${run.error.message})`;
  if (run.status !== 0) return `python3 failed: ${run.stderr.trim().split('\n').pop() ?? 'unknown error'}`;
  return JSON.parse(run.stdout) as ScipyResult;
}

async function scenario(dir: string, name: string, reference: Float64Array, current: Float64Array): Promise<void> {
  say(`\n== ${name}: ${N.toLocaleString('en-US')} reference vs ${N.toLocaleString('en-US')} current values`);
  const prepareRef: number[] = [];
  const prepareCur: number[] = [];
  const test: number[] = [];
  let ref: PreparedColumn | undefined;
  let pvalue = Number.NaN;
  for (let r = 0; r < RUNS; r++) {
    const a = timed(() => prepareColumn({ kind: 'numerical', values: reference }));
    const b = timed(() => prepareColumn({ kind: 'numerical', values: current }));
    const ks = timed(() => detectColumnDrift('x', a.value, b.value, { stattest: 'ks' }));
    prepareRef.push(a.ms);
    prepareCur.push(b.ms);
    test.push(ks.ms);
    ref = a.value;
    pvalue = ks.value.statistic;
  }
  if (ref === undefined) throw new Error('no run');
  const perWindow = median(prepareCur) + median(test);
  const whole = median(prepareRef) + perWindow;
  say(`TypeScript (median of ${RUNS}):`);
  say(`  prepare reference (once):        ${ms(median(prepareRef))}`);
  say(`  prepare window (filter + sort):  ${ms(median(prepareCur))}`);
  say(`  KS statistic + p-value:          ${ms(median(test))}`);
  say(`  per window (prepare + test):     ${ms(perWindow)}`);
  say(`  whole (both prepares + test):    ${ms(whole)}`);
  say(`  p-value:                         ${pvalue}`);

  const scipy = await scipyKs(dir, reference, current, name.replace(/\W+/g, '-'));
  if (typeof scipy === 'string') {
    say(`scipy baseline unavailable: ${scipy}`);
    return;
  }
  const scipyMs = median(scipy.ms);
  const relative = Math.abs(scipy.pvalue - pvalue) / Math.max(Math.abs(scipy.pvalue), Number.MIN_VALUE);
  const agree = scipy.pvalue === pvalue || relative <= 1e-9 || Math.abs(scipy.pvalue - pvalue) <= 1e-15;
  say(`scipy ks_2samp (${scipy.versions}, median of ${RUNS}):`);
  say(`  ks_2samp (sorts both samples):   ${ms(scipyMs)}`);
  say(`  p-value:                         ${scipy.pvalue}`);
  say(`p-values agree: ${agree ? 'yes' : 'NO'} (relative difference ${relative.toExponential(2)})`);
  say(`ratio scipy / TypeScript per window: ${(scipyMs / perWindow).toFixed(2)}x`);
  say(`ratio scipy / TypeScript whole:      ${(scipyMs / whole).toFixed(2)}x`);
  if (!agree) process.exitCode = 1;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'steward-bench-drift-'));
  try {
    const reference = normals(N, 1, 0);
    await scenario(dir, 'same distribution', reference, normals(N, 2, 0));
    await scenario(dir, 'shifted by 0.005', reference, normals(N, 3, 0.005));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
