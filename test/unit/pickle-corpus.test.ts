import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { scanArtifact, type ScanFinding } from '../../activities/scanning.js';
import { ensurePythonReference } from '../harness/python-reference.js';
import { TEST_ROOT, testReadOptions } from '../harness/reading.js';

const run = promisify(execFile);

interface Entry {
  readonly file: string;
  readonly kind: 'benign' | 'malicious';
  readonly note: string;
  /** A known deny-list bypass (or one picklescan 1.0.5 misses). */
  readonly bypass: boolean;
}

/** picklescan 1.0.5's verdict per file, through its own Python API. */
const PICKLESCAN = `
import json, os, sys
from picklescan.scanner import scan_file_path
out = {}
for e in json.load(open(sys.argv[1])):
    r = scan_file_path(os.path.join(sys.argv[2], e["file"]))
    out[e["file"]] = {"dangerous": r.infected_files > 0, "error": bool(r.scan_err)}
json.dump(out, sys.stdout)
`;

const blocking = (f: ScanFinding) => f.severity === 'high' || f.severity === 'critical';

describe('a generated pickle corpus, scanned by Steward and by picklescan 1.0.5', () => {
  let dir: string;
  let corpus: Entry[];
  let picklescan: Record<string, { dangerous: boolean; error: boolean }>;
  const steward: Record<string, ScanFinding[]> = {};

  beforeAll(async () => {
    const { python } = await ensurePythonReference();
    dir = await mkdtemp(join(TEST_ROOT, 'steward-pickle-corpus-'));
    const generator = join(import.meta.dirname, '..', 'harness', 'pickle_corpus.py');
    corpus = JSON.parse((await run(python, [generator, dir], { maxBuffer: 1 << 24 })).stdout) as Entry[];
    await writeFile(join(dir, 'index.json'), JSON.stringify(corpus));
    await writeFile(join(dir, 'picklescan_run.py'), PICKLESCAN);
    picklescan = JSON.parse((await run(python, [join(dir, 'picklescan_run.py'), join(dir, 'index.json'), dir], { maxBuffer: 1 << 24 })).stdout);
    for (const e of corpus) {
      const path = join(dir, e.file);
      const sha256 = createHash('sha256').update(await readFile(path)).digest('hex');
      const { findings } = await scanArtifact({ uri: pathToFileURL(path).href, sha256 }, testReadOptions());
      steward[e.file] = findings;
    }
  }, 300_000);

  it('holds at least 40 pickles: benign and malicious, protocols 0-5, nested in zip, .pt, .npz and joblib, with the known bypasses', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(40);
    const files = corpus.map((e) => e.file);
    for (const kind of ['benign', 'malicious'] as const) {
      const of = corpus.filter((e) => e.kind === kind).map((e) => e.file);
      expect(of.length).toBeGreaterThanOrEqual(20);
      for (const ext of ['.pt', '.npz', '.zip', '.joblib']) expect(of.some((f) => f.endsWith(ext)), `${kind} ${ext}`).toBe(true);
    }
    for (let p = 0; p <= 5; p++) expect(files).toEqual(expect.arrayContaining([`os-system-p${p}.pkl`, `logreg-p${p}.pkl`]));
    expect(corpus.filter((e) => e.bypass).map((e) => e.file)).toEqual(
      expect.arrayContaining(['cve-2025-1716-pip-main.pkl', 'issue66-importlib-methodcaller.pkl', 'issue66-pkgutil-resolve-name.pkl', 'operator-attrgetter.pkl', 'stack-global-memo.pkl']),
    );
  });

  it('flags every file picklescan calls dangerous', () => {
    const dangerous = corpus.filter((e) => picklescan[e.file]!.dangerous);
    expect(dangerous.length).toBeGreaterThan(20);
    expect(dangerous.filter((e) => !steward[e.file]!.some(blocking)).map((e) => e.file)).toEqual([]);
  });

  it('flags every malicious file, the bypasses included, naming the dangerous import as critical', () => {
    for (const e of corpus.filter((x) => x.kind === 'malicious')) {
      const critical = steward[e.file]!.filter((f) => f.severity === 'critical' && f.code === 'pickle-import');
      expect(critical.length, `${e.file} (${e.note}): ${JSON.stringify(steward[e.file])}`).toBeGreaterThan(0);
      expect(critical[0]!.message).toContain(critical[0]!.import!);
    }
    // What a deny-list misses: the malicious files picklescan 1.0.5 does not call dangerous, all caught here.
    const missedByPicklescan = corpus.filter((e) => e.kind === 'malicious' && !picklescan[e.file]!.dangerous).map((e) => e.file);
    console.log(`picklescan 1.0.5 misses ${missedByPicklescan.length} malicious file(s): ${missedByPicklescan.join(', ') || 'none'}`);
    expect(missedByPicklescan.every((f) => steward[f]!.some(blocking))).toBe(true);
  });

  it('flags no benign file', () => {
    const flagged = corpus.filter((e) => e.kind === 'benign' && steward[e.file]!.some(blocking));
    expect(flagged.map((e) => `${e.file}: ${JSON.stringify(steward[e.file])}`)).toEqual([]);
    // ... and walked the pickles in them rather than skipping them.
    for (const e of corpus.filter((x) => x.kind === 'benign' && !x.file.endsWith('arrays.npz'))) {
      expect(steward[e.file], e.file).toContainEqual(expect.objectContaining({ code: 'pickle-format', severity: 'info' }));
    }
  });

  it('names the zip member and the offset of a nested import', () => {
    expect(steward['evil.pt']).toContainEqual(expect.objectContaining({ member: 'archive/data.pkl', import: 'posix.system', offset: expect.any(Number) }));
    expect(steward['evil-objects.npz']).toContainEqual(expect.objectContaining({ member: 'things.npy', import: 'posix.system' }));
  });
});
