import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, type LoadedDataset } from '../../activities/datasets.js';
import { compareColumns, prepareColumns } from '../../activities/drift-report.js';
import type { DriftColumnSpec, DriftPolicy } from '../../core/drift.js';
import { seededRandom } from '../harness/datasets.js';
import { ensurePythonReference } from '../harness/python-reference.js';
import { testReadOptions } from '../harness/reading.js';

const run = promisify(execFile);

/**
 * The same data kept as Parquet (written by pyarrow, as pandas' to_parquet writes it), CSV and JSON Lines reads
 * into the same columns and gives the same drift report, histograms included, deep-equal. The data has what
 * differs between formats: missing values (null / empty / NaN), integers (INT64 in Parquet), decimals that need
 * all 17 digits, categories with commas and quotes, and both small-reference tests (ks, chisquare, z) and
 * large-reference ones (wasserstein, jensenshannon).
 */

const COLUMNS: DriftColumnSpec[] = [
  { name: 'income', kind: 'numerical' },
  { name: 'age', kind: 'numerical' },
  { name: 'score', kind: 'numerical' },
  { name: 'flag', kind: 'numerical' },
  { name: 'band', kind: 'categorical' },
  { name: 'city', kind: 'categorical' },
];
const INTEGER_COLUMNS = new Set(['age', 'flag']);

type Cell = number | string | null;
type Table = Record<string, Cell[]>;

function table(rows: number, seed: number, shift: number): Table {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const out: Table = Object.fromEntries(COLUMNS.map((c) => [c.name, []]));
  for (let i = 0; i < rows; i++) {
    const missing = random() < 0.05;
    out.income!.push(missing ? null : 50_000 * (1 + shift) + 20_000 * (random() - 0.5) + random() * 1e-9);
    out.age!.push(18 + Math.floor(random() * 60 + shift * 10));
    out.score!.push(random() < 0.03 ? null : Math.round(random() * 1000) / 1000 - shift);
    out.flag!.push(random() < 0.5 + shift / 2 ? 1 : 0);
    out.band!.push(random() < 0.04 ? null : pick(['low', 'mid', 'high', 'very "high"', 'x, y']));
    out.city!.push(pick(['Oslo', 'Zürich', 'São Paulo', 'Lagos', shift > 0 ? 'Lima' : 'Oslo']));
  }
  return out;
}

const rowsOf = (t: Table) => t.income!.map((_, i) => Object.fromEntries(COLUMNS.map((c) => [c.name, t[c.name]![i]!])));

function csvCell(v: Cell): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  return /[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

const toCsv = (t: Table) => [COLUMNS.map((c) => c.name).join(','), ...rowsOf(t).map((r) => COLUMNS.map((c) => csvCell(r[c.name]!)).join(','))].join('\r\n') + '\r\n';
const toJsonLines = (t: Table) => rowsOf(t).map((r) => JSON.stringify(r)).join('\n') + '\n';

const PYARROW = `
import json, sys
import pyarrow as pa, pyarrow.parquet as pq
data = json.load(open(sys.argv[1]))
types = json.loads(sys.argv[3])
arrays = {name: pa.array(values, type={"int": pa.int64(), "float": pa.float64(), "str": pa.string()}[types[name]]) for name, values in data.items()}
pq.write_table(pa.table(arrays), sys.argv[2], row_group_size=int(sys.argv[4]))
`;

async function writeAll(dir: string, name: string, t: Table, python: string): Promise<Record<'csv' | 'jsonl' | 'parquet', string>> {
  const paths = { csv: join(dir, `${name}.csv`), jsonl: join(dir, `${name}.jsonl`), parquet: join(dir, `${name}.parquet`) };
  await writeFile(paths.csv, toCsv(t));
  await writeFile(paths.jsonl, toJsonLines(t));
  await writeFile(join(dir, `${name}.json`), JSON.stringify(t));
  const types = Object.fromEntries(COLUMNS.map((c) => [c.name, c.kind === 'categorical' ? 'str' : INTEGER_COLUMNS.has(c.name) ? 'int' : 'float']));
  // Several row groups, so a column arrives in more than one chunk.
  await run(python, ['-c', PYARROW, join(dir, `${name}.json`), paths.parquet, JSON.stringify(types), '700']);
  return paths;
}

const POLICY: DriftPolicy = { stattest: 'auto', columnShare: 0.5 };
const FORMATS = ['csv', 'jsonl', 'parquet'] as const;

describe('Parquet, CSV and JSON Lines give identical drift reports on the same data', () => {
  const loaded = new Map<string, LoadedDataset>();

  beforeAll(async () => {
    const { python } = await ensurePythonReference();
    const dir = await mkdtemp(join(tmpdir(), 'steward-formats-'));
    const sets = { small: table(800, 1, 0), large: table(2500, 2, 0), shifted: table(1500, 3, 0.3) };
    for (const [name, t] of Object.entries(sets)) {
      const paths = await writeAll(dir, name, t, python);
      for (const format of FORMATS) loaded.set(`${name}.${format}`, await loadDataset(pathToFileURL(paths[format]).href, COLUMNS, undefined, testReadOptions()));
    }
  }, 300_000);

  it.each(['small', 'large', 'shifted'])('%s: the same columns and rows from each format', (name) => {
    const [csv, jsonl, parquet] = FORMATS.map((f) => loaded.get(`${name}.${f}`)!);
    expect(csv!.rows).toBe(jsonl!.rows);
    expect(parquet!.rows).toBe(csv!.rows);
    expect(jsonl!.columns).toEqual(csv!.columns);
    expect(parquet!.columns).toEqual(csv!.columns);
  });

  it.each([
    ['small', 'shifted'],
    ['large', 'shifted'],
    ['large', 'small'],
  ])('reference %s against current %s: deep-equal reports, histograms included', (ref, cur) => {
    const reports = FORMATS.map((f) => compareColumns(prepareColumns(loaded.get(`${ref}.${f}`)!.columns), loaded.get(`${cur}.${f}`)!.columns, COLUMNS, POLICY));
    expect(reports[1]).toEqual(reports[0]);
    expect(reports[2]).toEqual(reports[0]);
    // The comparison is not vacuous: drift was found, and several tests and both histogram kinds ran.
    const report = reports[0]!;
    expect(report.driftedColumns.length).toBeGreaterThan(0);
    expect(new Set(report.columns.map((c) => c.stattest)).size).toBeGreaterThan(1);
    expect(new Set(report.columns.map((c) => c.histogram?.kind))).toEqual(new Set(['numerical', 'categorical']));
  });

  it('the small reference gets the small-sample tests and the large one the distances', () => {
    const small = compareColumns(prepareColumns(loaded.get('small.parquet')!.columns), loaded.get('shifted.parquet')!.columns, COLUMNS, POLICY);
    const large = compareColumns(prepareColumns(loaded.get('large.parquet')!.columns), loaded.get('shifted.parquet')!.columns, COLUMNS, POLICY);
    expect(small.columns.map((c) => c.stattest)).toEqual(['ks', 'ks', 'ks', 'z', 'chisquare', 'chisquare']);
    expect(large.columns.map((c) => c.stattest)).toEqual(['wasserstein', 'wasserstein', 'wasserstein', 'jensenshannon', 'jensenshannon', 'jensenshannon']);
  });
});
