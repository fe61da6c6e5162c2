import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ColumnBuilder, DatasetProblem } from '../../activities/dataset-columns.js';
import { CsvColumns } from '../../activities/dataset-csv.js';
import { loadDataset } from '../../activities/datasets.js';
import type { DriftColumnSpec } from '../../core/drift.js';
import { seededRandom } from '../harness/datasets.js';
import { ensurePythonReference } from '../harness/python-reference.js';
import { testReadOptions } from '../harness/reading.js';

const run = promisify(execFile);

/** Reads CSV text through the streaming reader in chunks of `size` bytes. */
function readCsv(text: string, specs: readonly DriftColumnSpec[], size: number) {
  const builders = specs.map((s) => new ColumnBuilder(s, 'mem.csv'));
  const reader = new CsvColumns('mem.csv', builders);
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) reader.push(bytes.subarray(i, i + size));
  reader.end();
  return { rows: reader.rows, columns: builders.map((b) => b.build()) };
}

describe('the streaming CSV reader', () => {
  const specs: DriftColumnSpec[] = [
    { name: 'x', kind: 'numerical' },
    { name: 'label', kind: 'categorical' },
  ];
  const text = '\uFEFFx,skip,label\r\n1.5,"a,b",plain\r\n\r\n"2",z,"say ""hi""\nthere"\n-0.25e1,,NA\n 7 ,q,""\n1e400,w,Zürich';

  it.each([1, 2, 3, 7, 64, 1 << 16])('gives the same columns whatever the chunk size (%i bytes): quotes, escapes, CRLF, BOM, empty lines', (size) => {
    const { rows, columns } = readCsv(text, specs, size);
    expect(rows).toBe(5);
    // 1e400 overflows to Infinity, which drift drops as Evidently does; "NA" and "" are missing labels.
    expect(columns[0]).toEqual({ kind: 'numerical', values: new Float64Array([1.5, 2, -2.5, 7]) });
    expect(columns[1]).toEqual({ kind: 'categorical', values: ['plain', 'say "hi"\nthere', 'Zürich'] });
  });

  it('parses every decimal to the same double as Number(), on the fast path and off it', () => {
    const random = seededRandom(7);
    const texts: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const digits = 1 + Math.floor(random() * 20);
      let mantissa = '';
      for (let d = 0; d < digits; d++) mantissa += Math.floor(random() * 10);
      const point = Math.floor(random() * (digits + 1));
      const exponent = random() < 0.3 ? `e${Math.floor(random() * 60) - 30}` : '';
      const sign = random() < 0.3 ? '-' : random() < 0.1 ? '+' : '';
      texts.push(`${sign}${mantissa.slice(0, point)}.${mantissa.slice(point)}${exponent}`.replace(/^([+-]?)\.$/, '$10'));
      texts.push(String((random() - 0.5) * 10 ** Math.floor(random() * 40 - 20)));
    }
    const { columns } = readCsv(`x,label\n${texts.map((t) => `${t},a`).join('\n')}\n`, specs, 4096);
    const expected = texts.map(Number).filter(Number.isFinite);
    expect(Array.from(columns[0]!.values as Float64Array)).toEqual(expected);
  });

  it.each([
    ['a ragged row', 'x,label\n1,a\n2,b,c\n', /record 2 \(a data row\) has 3 fields, but the header has 2/],
    ['an unclosed quote', 'x,label\n1,"a\n', /row 1: a quoted field is not closed/],
    ['text after a closing quote', 'x,label\n1,"a"b\n', /row 1: characters after the closing quote of field 2/],
    ['a non-number, naming the column and row', 'x,label\n1,a\n1.2.3,b\n', /column x, row 2: "1.2.3" is not a number/],
    ['a missing column', 'y,label\n1,a\n', /no column x/],
  ])('refuses %s', (_, input, message) => {
    expect(() => readCsv(input, specs, 5)).toThrow(DatasetProblem);
    expect(() => readCsv(input, specs, 5)).toThrow(message);
  });
});

describe('the Parquet reader', () => {
  let dir: string;
  let python: string;
  const write = async (name: string, script: string) => {
    const path = join(dir, name);
    await run(python, ['-c', `import pyarrow as pa, pyarrow.parquet as pq\n${script}`, path]);
    return pathToFileURL(path).href;
  };

  beforeAll(async () => {
    ({ python } = await ensurePythonReference());
    dir = await mkdtemp(join(tmpdir(), 'steward-parquet-'));
  }, 300_000);

  it('reads numbers of every width, nulls and NaN as missing, strings and dictionary-encoded categories, in any codec', async () => {
    const uri = await write(
      'typed.parquet',
      `import sys
t = pa.table({
  'f': pa.array([1.5, None, float('nan'), -2.0], pa.float64()),
  'i': pa.array([1, None, 3, 2**40], pa.int64()),
  's': pa.array([1, 2, None, 4], pa.int32()),
  'c': pa.array(['a', None, 'NA', 'b']),
  'd': pa.array(['x', 'y', 'x', None]).dictionary_encode(),
})
pq.write_table(t, sys.argv[1], compression='zstd')`,
    );
    const data = await loadDataset(uri, [
      { name: 'f', kind: 'numerical' },
      { name: 'i', kind: 'numerical' },
      { name: 's', kind: 'numerical' },
      { name: 'c', kind: 'categorical' },
      { name: 'd', kind: 'categorical' },
    ], undefined, testReadOptions());
    expect(data.rows).toBe(4);
    expect(data.columns.get('f')).toEqual({ kind: 'numerical', values: new Float64Array([1.5, -2]) });
    expect(data.columns.get('i')).toEqual({ kind: 'numerical', values: new Float64Array([1, 3, 2 ** 40]) });
    expect(data.columns.get('s')).toEqual({ kind: 'numerical', values: new Float64Array([1, 2, 4]) });
    // As pandas.read_parquet: only null is missing in a typed file; the string "NA" is a label.
    expect(data.columns.get('c')).toEqual({ kind: 'categorical', values: ['a', 'NA', 'b'] });
    expect(data.columns.get('d')).toEqual({ kind: 'categorical', values: ['x', 'y', 'x'] });
  });

  it.each([
    ['a string column read as numbers', "t = pa.table({'x': ['1.5', 'abc']})", /column x, row 2: "abc" is not a number/],
    ['a boolean column read as numbers', "t = pa.table({'x': [True, False]})", /column x, row 1: the boolean true is not a number/],
    ['a nested column', "t = pa.table({'x': [[1.0], [2.0]]})", /column x is a nested \(struct, list or map\) column/],
    ['a missing column', "t = pa.table({'y': [1.0]})", /no column x \(the model's input fields\)/],
  ])('refuses %s with a DatasetProblem naming the column', async (name, table, message) => {
    const uri = await write(`${name.replaceAll(' ', '-')}.parquet`, `import sys\n${table}\npq.write_table(t, sys.argv[1])`);
    const loading = loadDataset(uri, [{ name: 'x', kind: 'numerical' }], undefined, testReadOptions());
    await expect(loading).rejects.toBeInstanceOf(DatasetProblem);
    await expect(loading).rejects.toThrow(message);
  });

  it('refuses bytes that are not Parquet', async () => {
    const { writeArtifact } = await import('../harness/artifacts.js');
    const file = await writeArtifact('not.parquet', 'x,y\n1,2\n');
    await expect(loadDataset(file.uri, [{ name: 'x', kind: 'numerical' }], undefined, testReadOptions())).rejects.toThrow(/not\.parquet: is not a readable Parquet file/);
  });
});
