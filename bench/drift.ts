import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { detectColumnDrift, prepareColumn, prepareReferenceColumn, type PreparedColumn, type StatTestName } from '../activities/drift/index.js';
import { seededRandom } from '../test/harness/datasets.js';
import { ensurePythonReference } from '../test/harness/python-reference.js';

/**
 * `npm run bench:drift`, two comparisons side by side in one run:
 *
 * 1. Per window at 10^6 vs 10^6 values: KS (scipy ks_2samp; a window from the reference distribution, whose
 *    p-value comes from the Pelz-Good series, and one shifted by 0.005 sd, whose p-value comes from the
 *    one-sided Smirnov sum, the slowest path), Wasserstein (scipy wasserstein_distance divided by the
 *    reference's std, as Evidently normalises it) and PSI (numpy, the way Evidently's get_binned_data and
 *    psi compute it). The monitor prepares a reference once (prepareReferenceColumn: drop missing values,
 *    sort, distinct count, mean and std, the cell grid) and compares it with many windows, so Steward's
 *    per-window cost is everything done with the window: dropping its missing values (a check; a copy only
 *    if some are missing) plus the test, which includes whatever the test needs from the window (its counts
 *    on the reference's grid and the few cells walked value by value, or a sort where a test needs one). scipy and numpy sort or bin both
 *    sides on every call and keep nothing between calls, so they are compared with Steward's per-window
 *    cost and with its whole cost (reference preparation + window). Each side runs the same inputs RUNS
 *    times; medians of wall-clock time are compared, and CPU time (process.cpuUsage, all of Node's threads;
 *    time.process_time for Python) is printed next to them because a loaded machine stretches wall time.
 *    `--per-window` runs only this part.
 * 2. The whole wide report from files: 100 numerical columns x 356,000 rows, reference and current, as CSV
 *    and as Parquet, Steward (read, prepare, test every column with Evidently's default choice, histograms)
 *    against Evidently 0.7.23's DataDriftPreset on the same files including pandas.read_csv/read_parquet,
 *    each in its own process so that each peak RSS is its own. The verdicts of both are compared.
 *
 * The Python side is the pinned reference venv (test/harness/python-reference.ts). BENCH_WIDE_ROWS and
 * BENCH_WIDE_COLUMNS shrink the wide part for a quick look; `--wide-csv` runs only the wide report from CSV.
 */

const N = 1_000_000;
const RUNS = 5;
const WIDE_ROWS = Number(process.env.BENCH_WIDE_ROWS ?? 356_000);
const WIDE_COLUMNS = Number(process.env.BENCH_WIDE_COLUMNS ?? 100);
const WIDE_CSV_ONLY = process.argv.includes('--wide-csv');
/** Columns whose current values move by 0.15 sd (Evidently's normalised Wasserstein of ~0.15 >= 0.1: drift). */
const SHIFTED_EVERY = 3;

const say = (m: string) => process.stdout.write(`${m}\n`);
const ms = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(n < 10 ? 2 : 1)} ms`);
const mb = (n: number) => `${n.toFixed(0)} MB`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const loadNote = () => `load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores`;

/** Seeded normal values: mulberry32 uniforms through Box-Muller. */
function normals(n: number, seed: number, shift: number, scale = 1): Float64Array {
  const uniform = seededRandom(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - uniform()));
    const theta = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(theta) * scale + shift;
    if (i + 1 < n) out[i + 1] = r * Math.sin(theta) * scale + shift;
  }
  return out;
}

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

function timed<T>(fn: () => T): { value: T; ms: number; cpuMs: number } {
  const cpu = cpuMs();
  const start = performance.now();
  const value = fn();
  return { value, ms: performance.now() - start, cpuMs: cpuMs() - cpu };
}

const bytesOf = (a: Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function python(pythonPath: string, script: string, args: readonly string[]): unknown {
  const run = spawnSync(pythonPath, ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw new Error(`python could not be started (${run.error.message})`);
  if (run.status !== 0) throw new Error(`python failed: ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!);
}

// ------------------------------------------------------------------------------------------ per window, 10^6

const PER_WINDOW_SCRIPT = `
import json, sys, time
import numpy as np, pandas as pd, scipy
from scipy.stats import ks_2samp, wasserstein_distance
x = np.fromfile(sys.argv[1], dtype='<f8')
y = np.fromfile(sys.argv[2], dtype='<f8')
test, runs = sys.argv[3], int(sys.argv[4])

def psi(reference, current):
    # evidently.legacy.calculations.stattests.utils.get_binned_data + psi.py, on numpy arrays
    n = 20
    if pd.Series(reference).nunique() <= n:
        raise SystemExit('not the binned path')
    bins = np.histogram_bin_edges(np.concatenate([reference, current]), bins='sturges')
    ref = np.histogram(reference, bins)[0] / len(reference)
    cur = np.histogram(current, bins)[0] / len(current)
    for p in (ref, cur):
        m = np.min(p[p != 0])
        p[p == 0] = m / 10**6 if m <= 0.0001 else 0.0001
    return float(np.sum((ref - cur) * np.log(ref / cur)))

def run():
    # x and y are fresh numpy arrays read from the files: nothing sorted or cached between runs.
    if test == 'ks':
        return float(ks_2samp(x, y).pvalue)
    if test == 'wasserstein':
        return float(wasserstein_distance(x, y) / max(np.std(x), 0.001))
    return psi(x, y)

times, cpu, value = [], [], None
for _ in range(runs):
    t, c = time.perf_counter(), time.process_time()
    value = run()
    times.append((time.perf_counter() - t) * 1000)
    cpu.append((time.process_time() - c) * 1000)
print(json.dumps({"value": value, "ms": times, "cpuMs": cpu, "versions": f"numpy {np.__version__}, scipy {scipy.__version__}"}))
`;

interface PerWindow {
  readonly label: string;
  readonly ratioPerWindow: number;
  readonly ratioWhole: number;
  readonly cpuRatioPerWindow: number;
}

async function perWindow(pythonPath: string, dir: string, label: string, test: StatTestName, reference: Float64Array, current: Float64Array): Promise<PerWindow> {
  say(`\n== ${label}: ${N.toLocaleString('en-US')} reference vs ${N.toLocaleString('en-US')} current values (${loadNote()})`);
  const prepareRef: number[] = [];
  const prepareCur: number[] = [];
  const tests: number[] = [];
  const cpuWindow: number[] = [];
  let value = Number.NaN;
  for (let r = 0; r < RUNS; r++) {
    // A fresh reference and window every run: nothing carries over from the run before.
    const a = timed(() => prepareReferenceColumn({ kind: 'numerical', values: reference }));
    const b = timed(() => prepareColumn({ kind: 'numerical', values: current }));
    const t = timed(() => detectColumnDrift('x', a.value as PreparedColumn, b.value, { stattest: test }));
    prepareRef.push(a.ms);
    prepareCur.push(b.ms);
    tests.push(t.ms);
    cpuWindow.push(b.cpuMs + t.cpuMs);
    value = t.value.statistic;
  }
  const window = median(prepareCur) + median(tests);
  const whole = median(prepareRef) + window;
  const refFile = join(dir, `${label.replace(/\W+/g, '-')}-reference.f64`);
  const curFile = join(dir, `${label.replace(/\W+/g, '-')}-current.f64`);
  await writeFile(refFile, bytesOf(reference));
  await writeFile(curFile, bytesOf(current));
  const theirs = python(pythonPath, PER_WINDOW_SCRIPT, [refFile, curFile, test, String(RUNS)]) as { value: number; ms: number[]; cpuMs: number[]; versions: string };
  const theirMs = median(theirs.ms);
  const theirCpu = median(theirs.cpuMs);
  const ourCpu = median(cpuWindow);
  const relative = Math.abs(theirs.value - value) / Math.max(Math.abs(theirs.value), Number.MIN_VALUE);
  const agree = theirs.value === value || relative <= 1e-9 || Math.abs(theirs.value - value) <= 1e-15;
  say(`Steward (median of ${RUNS}): prepare reference (once: filter, sort, moments, grid) ${ms(median(prepareRef))}; window: filter ${ms(median(prepareCur))} + ${test} ${ms(median(tests))}`);
  say(`  per window ${ms(window)} (CPU ${ms(ourCpu)}), whole ${ms(whole)}, ${test === 'ks' ? 'p-value' : 'score'} ${value}`);
  say(`Python (${theirs.versions}, median of ${RUNS}): ${ms(theirMs)} (CPU ${ms(theirCpu)}), ${test === 'ks' ? 'p-value' : 'score'} ${theirs.value}`);
  say(`  agree: ${agree ? 'yes' : 'NO'} (relative difference ${relative.toExponential(2)})`);
  say(`  ratio Python / Steward: per window ${ratio(theirMs, window)} (CPU time ${ratio(theirCpu, ourCpu)}), whole ${ratio(theirMs, whole)}`);
  if (!agree) process.exitCode = 1;
  return { label, ratioPerWindow: theirMs / window, ratioWhole: theirMs / whole, cpuRatioPerWindow: theirCpu / ourCpu };
}

// ------------------------------------------------------------------------------------------ the wide report

const WRITE_PARQUET_SCRIPT = `
import sys, numpy as np, pyarrow as pa, pyarrow.parquet as pq
columns, rows = int(sys.argv[3]), int(sys.argv[4])
data = np.fromfile(sys.argv[1], dtype='<f8').reshape(columns, rows)
pq.write_table(pa.table({f"f{i}": data[i] for i in range(columns)}), sys.argv[2])
print("{}")
`;

const EVIDENTLY_SCRIPT = `
import json, resource, sys, time, warnings
warnings.filterwarnings('ignore')
import numpy as np, pandas as pd
# evidently 0.7.23 imports a pandas helper that pandas 3 removed; it is only used by a data-integrity test,
# not by drift, so a stand-in lets it import under the reference venv's pandas 3.
import pandas.core.dtypes.common as _common
if not hasattr(_common, 'infer_dtype_from_object'):
    _common.infer_dtype_from_object = lambda dtype: np.dtype(dtype).type
import evidently
from evidently import Report
from evidently.presets import DataDriftPreset
fmt, ref_path, cur_path = sys.argv[1], sys.argv[2], sys.argv[3]
read = pd.read_parquet if fmt == 'parquet' else pd.read_csv
t0 = time.perf_counter()
ref = read(ref_path)
cur = read(cur_path)
t1 = time.perf_counter()
snap = Report([DataDriftPreset()]).run(cur, ref)
d = snap.dict()
t2 = time.perf_counter()
drifted, scores, methods = [], {}, set()
for m in d["metrics"]:
    cfg = m["config"]
    if cfg["type"].endswith("ValueDrift"):
        scores[cfg["column"]] = float(m["value"])
        methods.add(cfg["method"])
        if float(m["value"]) >= float(cfg["threshold"]):
            drifted.append(cfg["column"])
print(json.dumps({"readMs": (t1 - t0) * 1000, "computeMs": (t2 - t1) * 1000, "totalMs": (t2 - t0) * 1000,
                  "maxRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "methods": sorted(methods),
                  "drifted": drifted, "scores": scores, "versions": f"evidently {evidently.__version__}, pandas {pd.__version__}"}))
`;

interface WideSide {
  readonly readMs: number;
  readonly computeMs: number;
  readonly totalMs: number;
  readonly maxRssMb: number;
  readonly drifted: readonly string[];
}

/** A CSV as pandas' to_csv would write these doubles: shortest round-trip text (Python's repr and JS agree). */
async function writeCsv(path: string, columns: readonly Float64Array[]): Promise<void> {
  const out = createWriteStream(path);
  out.write(`${columns.map((_, i) => `f${i}`).join(',')}\n`);
  const rows = columns[0]!.length;
  const cells = new Array<string>(columns.length);
  let buffered: string[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns.length; c++) cells[c] = String(columns[c]![r]);
    buffered.push(cells.join(','));
    if (buffered.length === 2000 || r === rows - 1) {
      if (!out.write(`${buffered.join('\n')}\n`)) await once(out, 'drain');
      buffered = [];
    }
  }
  out.end();
  await once(out, 'finish');
}

function stewardWide(referencePath: string, currentPath: string): WideSide {
  const script = fileURLToPath(new URL('./drift-wide.ts', import.meta.url));
  const run = spawnSync(process.execPath, ['--import', 'tsx', script, referencePath, currentPath, String(WIDE_COLUMNS)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`Steward's wide report failed: ${run.stderr.trim().split('\n').slice(-5).join(' | ')}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as WideSide;
}

async function wide(pythonPath: string, dir: string): Promise<{ format: string; ratio: number }[]> {
  say(`\n== Whole wide report from files: ${WIDE_COLUMNS} numerical columns x ${WIDE_ROWS.toLocaleString('en-US')} rows, reference and current`);
  const reference: Float64Array[] = [];
  const current: Float64Array[] = [];
  for (let c = 0; c < WIDE_COLUMNS; c++) {
    const mean = c % 7;
    const scale = 1 + (c % 3);
    reference.push(normals(WIDE_ROWS, 1000 + c, mean, scale));
    current.push(normals(WIDE_ROWS, 5000 + c, mean + (c % SHIFTED_EVERY === 0 ? 0.15 * scale : 0), scale));
  }
  const files: Record<string, { reference: string; current: string }> = {};
  const started = performance.now();
  for (const [name, data] of [['reference', reference], ['current', current]] as const) {
    const raw = join(dir, `${name}.f64`);
    const all = new Float64Array(WIDE_COLUMNS * WIDE_ROWS);
    data.forEach((col, i) => all.set(col, i * WIDE_ROWS));
    await writeFile(raw, bytesOf(all));
    python(pythonPath, WRITE_PARQUET_SCRIPT, [raw, join(dir, `${name}.parquet`), String(WIDE_COLUMNS), String(WIDE_ROWS)]);
    await rm(raw);
    await writeCsv(join(dir, `${name}.csv`), data);
  }
  for (const format of ['csv', 'parquet']) files[format] = { reference: join(dir, `reference.${format}`), current: join(dir, `current.${format}`) };
  const sizes = await Promise.all(['reference.csv', 'reference.parquet'].map(async (f) => (await stat(join(dir, f))).size / 1024 ** 2));
  say(`files written in ${ms(performance.now() - started)}: CSV ${mb(sizes[0]!)} and Parquet (pyarrow, snappy) ${mb(sizes[1]!)} per side`);
  reference.length = 0;
  current.length = 0;

  const ratios: { format: string; ratio: number }[] = [];
  for (const format of WIDE_CSV_ONLY ? ['csv'] : ['csv', 'parquet']) {
    const { reference: ref, current: cur } = files[format]!;
    const loadBefore = loadNote();
    const ours = stewardWide(ref, cur);
    const theirs = python(pythonPath, EVIDENTLY_SCRIPT, [format, ref, cur]) as WideSide & { versions: string; methods: string[] };
    const same = ours.drifted.length === theirs.drifted.length && ours.drifted.every((c, i) => c === theirs.drifted[i]);
    say(`\n-- ${format.toUpperCase()} (${loadBefore})`);
    say(`Steward:   read ${ms(ours.readMs)} + compute ${ms(ours.computeMs)} = ${ms(ours.totalMs)}, peak RSS ${mb(ours.maxRssMb)}`);
    say(`Evidently: read ${ms(theirs.readMs)} + compute ${ms(theirs.computeMs)} = ${ms(theirs.totalMs)}, peak RSS ${mb(theirs.maxRssMb)} (${theirs.versions}; DataDriftPreset, ${theirs.methods.join(', ')})`);
    say(`ratio Evidently / Steward: whole ${ratio(theirs.totalMs, ours.totalMs)}, read ${ratio(theirs.readMs, ours.readMs)}, compute ${ratio(theirs.computeMs, ours.computeMs)}; peak memory Steward / Evidently ${ratio(ours.maxRssMb, theirs.maxRssMb)}`);
    say(`verdicts agree: ${same ? 'yes' : 'NO'} (${ours.drifted.length} of ${WIDE_COLUMNS} columns drifted by Steward, ${theirs.drifted.length} by Evidently)`);
    if (!same) process.exitCode = 1;
    ratios.push({ format, ratio: theirs.totalMs / ours.totalMs });
  }
  return ratios;
}

async function main(): Promise<void> {
  const { python: pythonPath } = await ensurePythonReference({ say });
  const dir = await mkdtemp(join(tmpdir(), 'steward-bench-drift-'));
  try {
    const reference = normals(N, 1, 0);
    const windows: PerWindow[] = [];
    if (!WIDE_CSV_ONLY) windows.push(await perWindow(pythonPath, dir, 'KS, same distribution', 'ks', reference, normals(N, 2, 0)));
    if (!WIDE_CSV_ONLY) windows.push(await perWindow(pythonPath, dir, 'KS, shifted by 0.005 sd', 'ks', reference, normals(N, 3, 0.005)));
    if (!WIDE_CSV_ONLY) windows.push(await perWindow(pythonPath, dir, 'Wasserstein, shifted by 0.1 sd', 'wasserstein', reference, normals(N, 4, 0.1)));
    if (!WIDE_CSV_ONLY) windows.push(await perWindow(pythonPath, dir, 'PSI, shifted by 0.1 sd', 'psi', reference, normals(N, 5, 0.1)));
    const reports = process.argv.includes('--per-window') ? [] : await wide(pythonPath, dir);
    say(`\n== Summary (Python time / Steward time; ${loadNote()})`);
    for (const w of windows) say(`${w.label.padEnd(34)} per window ${w.ratioPerWindow.toFixed(2)}x (CPU time ${w.cpuRatioPerWindow.toFixed(2)}x), whole ${w.ratioWhole.toFixed(2)}x`);
    for (const r of reports) say(`${`wide report from ${r.format.toUpperCase()}`.padEnd(34)} ${r.ratio.toFixed(2)}x (Evidently DataDriftPreset incl. reading)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
