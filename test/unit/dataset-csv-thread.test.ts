import { describe, expect, it } from 'vitest';
import { ColumnBuilder, DatasetProblem } from '../../activities/dataset-columns.js';
import { CsvColumns } from '../../activities/dataset-csv.js';
import { CsvThreadColumns } from '../../activities/dataset-csv-thread.js';
import type { DriftColumnSpec } from '../../core/drift.js';
import { seededRandom } from '../harness/datasets.js';

const specs: DriftColumnSpec[] = [
  { name: 'x', kind: 'numerical' },
  { name: 'label', kind: 'categorical' },
  { name: 'y', kind: 'numerical' },
];

function csv(rows: number): Buffer {
  const random = seededRandom(3);
  const lines = ['x,skip,label,y'];
  for (let r = 0; r < rows; r++) {
    const x = r % 97 === 0 ? 'NA' : String((random() - 0.5) * 10 ** Math.floor(random() * 8 - 3));
    lines.push(`${x},"a,b",${r % 5 === 0 ? '"say ""hi"""' : `c${r % 7}`},${(random() * 100).toFixed(r % 19)}`);
  }
  return Buffer.from(`${lines.join('\r\n')}\n`);
}

async function viaThread(bytes: Buffer, chunk: number, threadFrom: number) {
  const builders = specs.map((s) => new ColumnBuilder(s, 'mem.csv'));
  const reader = new CsvThreadColumns('mem.csv', builders, threadFrom);
  try {
    for (let i = 0; i < bytes.length; i += chunk) await reader.push(bytes.subarray(i, i + chunk));
    await reader.end();
  } finally {
    reader.close();
  }
  return { rows: reader.rows, columns: builders.map((b) => b.build()) };
}

function onThisThread(bytes: Buffer) {
  const builders = specs.map((s) => new ColumnBuilder(s, 'mem.csv'));
  const reader = new CsvColumns('mem.csv', builders);
  reader.push(bytes);
  reader.end();
  return { rows: reader.rows, columns: builders.map((b) => b.build()) };
}

describe('the CSV reader thread', { timeout: 60_000 }, () => {
  const bytes = csv(150_000);

  it('gives the same rows and columns as reading on the calling thread, chunk after chunk past the in-flight limit', async () => {
    const expected = onThisThread(bytes);
    expect(expected.rows).toBe(150_000);
    expect((expected.columns[0]!.values as Float64Array).length).toBe(150_000 - Math.ceil(150_000 / 97));
    const threaded = await viaThread(bytes, 4093, 1);
    expect(threaded).toEqual(expected);
  });

  it('reads a small file on the calling thread, with the same result', async () => {
    const small = csv(100);
    expect(await viaThread(small, 512, 1 << 20)).toEqual(onThisThread(small));
  });

  it('reports a bad cell found by the thread as a DatasetProblem naming the column and row', async () => {
    const bad = Buffer.concat([csv(1000), Buffer.from('1.5,z,c,oops\n')]);
    const failure = await viaThread(bad, 1000, 1).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(DatasetProblem);
    expect((failure as Error).message).toBe('mem.csv: column y, row 1001: "oops" is not a number');
  });
});
