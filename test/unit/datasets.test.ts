import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DatasetProblem, loadDataset } from '../../activities/datasets.js';
import type { DriftColumnSpec } from '../../core/drift.js';
import { writeArtifact } from '../harness/artifacts.js';
import { TEST_ROOT, testReadOptions } from '../harness/reading.js';

const columns: DriftColumnSpec[] = [
  { name: 'income', kind: 'numerical' },
  { name: 'band', kind: 'categorical' },
];

describe('reading a window sample or reference dataset', () => {
  it('reads CSV columns, dropping the missing markers pandas drops and infinities, and records the digest of the bytes read', async () => {
    const text = 'id,income,band\n1,100.5,a\n2,,b\n3,NaN,NA\n4,inf,c\n5,-2e3,a\n6,7, b \n';
    const file = await writeArtifact('sample.csv', text);
    const data = await loadDataset(file.uri, columns, undefined, testReadOptions());
    expect(data.rows).toBe(6);
    expect(data.sha256).toBe(createHash('sha256').update(text).digest('hex'));
    expect(data.columns.get('income')).toEqual({ kind: 'numerical', values: new Float64Array([100.5, -2000, 7]) });
    expect(data.columns.get('band')).toEqual({ kind: 'categorical', values: ['a', 'b', 'c', 'a', ' b '] });
  });

  it('keeps category labels as written, as pandas does (" a" and "a" are two labels), and still reads " 1.5" as a number', async () => {
    // pandas.read_csv(io.StringIO("income,band\n 1.5, a\n2,a\n-3 ,NA\n")): income [1.5, 2.0, -3.0], band [" a", "a", NaN].
    const file = await writeArtifact('spaces.csv', 'income,band\n 1.5, a\n2,a\n-3 ,NA\n');
    const data = await loadDataset(file.uri, columns, undefined, testReadOptions());
    expect(data.columns.get('income')).toEqual({ kind: 'numerical', values: new Float64Array([1.5, 2, -3]) });
    expect(data.columns.get('band')).toEqual({ kind: 'categorical', values: [' a', 'a'] });
  });

  it('reads JSON Lines, where numbers, nulls and booleans arrive typed', async () => {
    const file = await writeArtifact('sample.jsonl', '{"income": 1.5, "band": true}\n\n{"income": null, "band": "x", "extra": 1}\n{"income": "2", "band": 3}\n');
    const data = await loadDataset(file.uri, columns, file.sha256, testReadOptions());
    expect(data.rows).toBe(3);
    expect(data.columns.get('income')).toEqual({ kind: 'numerical', values: new Float64Array([1.5, 2]) });
    expect(data.columns.get('band')).toEqual({ kind: 'categorical', values: ['true', 'x', '3'] });
  });

  it.each([
    ['a digest that does not match', 'income,band\n1,a\n', 'sample.csv', 'f'.repeat(64), /sha256 is [0-9a-f]{64}, but f{64} was declared/],
    ['a missing input column', 'income\n1\n', 'sample.csv', undefined, /no column band \(the model's input fields\)/],
    ['a non-number in a numerical column', 'income,band\n1,a\nabc,b\n', 'sample.csv', undefined, /column income, row 2: "abc" is not a number/],
    ['a ragged CSV row', 'income,band\n1,a\n2,b,extra\n', 'sample.csv', undefined, /sample\.csv: .*record/i],
    ['no data rows', 'income,band\n', 'sample.csv', undefined, /has no data rows/],
    ['a line that is not JSON', '{"income": 1, "band": "a"}\n{oops\n', 'sample.jsonl', undefined, /line 2 is not JSON/],
    ['an unsupported format', 'x', 'sample.xlsx', undefined, /unsupported dataset format; use \.csv .*, \.jsonl or \.parquet/],
  ])('refuses %s with a DatasetProblem naming it', async (_, text, name, declared, message) => {
    const file = await writeArtifact(name, text);
    const loading = loadDataset(file.uri, columns, declared, testReadOptions());
    await expect(loading).rejects.toBeInstanceOf(DatasetProblem);
    await expect(loading).rejects.toThrow(message);
  });

  it('refuses a file that is not there, naming it', async () => {
    await expect(loadDataset(`file://${TEST_ROOT}/nonexistent/steward/sample.csv`, columns, undefined, testReadOptions())).rejects.toThrow(/sample\.csv: could not (open|read)/);
  });
});
