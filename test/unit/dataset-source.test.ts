import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../activities/datasets.js';
import { loadEvaluationRows } from '../../activities/evaluation/dataset.js';
import type { DriftColumnSpec } from '../../core/drift.js';
import type { EvaluationSpec, ModelManifest } from '../../core/manifest.js';
import { writeArtifact } from '../harness/artifacts.js';
import { testReadOptions } from '../harness/reading.js';

/**
 * One way to open and hash a dataset (openDataset): drift's loadDataset and the test gate's
 * loadEvaluationRows read through it, so the same file gives the same digest and the same problem gives the
 * same error, word for word, whichever of them reads it.
 */
const columns: DriftColumnSpec[] = [{ name: 'income', kind: 'numerical' }];
const inputSchema: ModelManifest['inputSchema'] = [{ name: 'income', type: 'number', nullable: false }];
const spec = (uri: string, sha256?: string): EvaluationSpec =>
  ({ dataset: { uri, ...(sha256 ? { sha256 } : {}) }, label: 'y', task: 'classification' }) as unknown as EvaluationSpec;
const drift = (uri: string, sha256?: string) => loadDataset(uri, columns, sha256, testReadOptions());
const evaluation = (uri: string, sha256?: string) => loadEvaluationRows(spec(uri, sha256), inputSchema, [], testReadOptions());

describe('one dataset reader for drift and evaluation', () => {
  it('hashes exactly the bytes read: both loaders report the file’s sha256', async () => {
    const text = 'income,y\n100,1\n200,0\n';
    const file = await writeArtifact('both.csv', text);
    const digest = createHash('sha256').update(text).digest('hex');
    expect((await drift(file.uri, file.sha256)).sha256).toBe(digest);
    expect((await evaluation(file.uri, file.sha256)).sha256).toBe(digest);
  });

  it.each([
    ['a declared digest that does not match', 'income,y\n1,1\n', 'mismatch.csv', 'f'.repeat(64)],
    ['no data rows', 'income,y\n', 'empty.csv', undefined],
    ['an unsupported format', 'income,y\n1,1\n', 'data.txt', undefined],
  ])('refuses %s with the same error from both', async (_, text, name, declared) => {
    const file = await writeArtifact(name, text);
    const fromDrift = await drift(file.uri, declared).then(() => null, (e: Error) => e);
    const fromEvaluation = await evaluation(file.uri, declared).then(() => null, (e: Error) => e);
    expect(fromDrift).toBeInstanceOf(Error);
    expect(fromEvaluation?.constructor).toBe(fromDrift?.constructor);
    expect(fromEvaluation?.message).toBe(fromDrift?.message);
    expect(fromDrift?.message).toContain(file.uri);
  });

  it('a location outside the allowed roots is refused at open, the same way for both', async () => {
    const uri = 'file:///etc/hostname.csv';
    const fromDrift = await drift(uri).then(() => null, (e: Error) => e);
    const fromEvaluation = await evaluation(uri).then(() => null, (e: Error) => e);
    expect(fromDrift).toBeInstanceOf(Error);
    expect(fromEvaluation?.message).toBe(fromDrift?.message);
  });

  it.each(['partial.csv', 'partial.jsonl'])('a read that fails part way (%s past the size limit) never counts as the whole file', async (name) => {
    const rows = Array.from({ length: 2000 }, (_, i) => (name.endsWith('.csv') ? `${i},1` : JSON.stringify({ income: i, y: 1 })));
    const file = await writeArtifact(name, `${name.endsWith('.csv') ? 'income,y\n' : ''}${rows.join('\n')}\n`);
    const limited = testReadOptions({ maxBytes: 4096 });
    const fromDrift = await loadDataset(file.uri, columns, undefined, limited).then(() => null, (e: Error) => e);
    const fromEvaluation = await loadEvaluationRows(spec(file.uri), inputSchema, [], limited).then(() => null, (e: Error) => e);
    expect(fromDrift?.message).toMatch(/4096/);
    expect(fromEvaluation?.message).toBe(fromDrift?.message);
  });
});
