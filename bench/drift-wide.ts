import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { loadDataset } from '../activities/datasets.js';
import { compareColumns, prepareColumns } from '../activities/drift-report.js';
import type { DriftColumnSpec } from '../core/drift.js';

/**
 * One side of `npm run bench:drift`'s wide report, in a process of its own so its peak memory is its own:
 * reads the reference and current files (any format), prepares the reference, and compares every column as
 * the monitor does (tests, verdicts, histograms). Prints one JSON line with the timings and the verdicts.
 *
 *   node --import tsx bench/drift-wide.ts <reference file> <current file> <columns>
 */

const [referencePath, currentPath, count] = process.argv.slice(2);
if (!referencePath || !currentPath || !count) throw new Error('usage: drift-wide.ts <reference file> <current file> <columns>');
const columns: DriftColumnSpec[] = Array.from({ length: Number(count) }, (_, i) => ({ name: `f${i}`, kind: 'numerical' }));
const root = realpathSync(dirname(referencePath));
const reads = { policy: { roots: [root], schemes: ['file' as const], hosts: null, privateNetworks: [] }, maxBytes: 4 * 1024 ** 3, idleTimeoutMs: 60_000 };

const start = performance.now();
const [reference, current] = await Promise.all([
  loadDataset(pathToFileURL(referencePath).href, columns, undefined, reads),
  loadDataset(pathToFileURL(currentPath).href, columns, undefined, reads),
]);
const read = performance.now();
const report = compareColumns(prepareColumns(reference.columns), current.columns, columns, { stattest: 'auto', columnShare: 0.5 });
const done = performance.now();
process.stdout.write(
  `${JSON.stringify({
    readMs: read - start,
    computeMs: done - read,
    totalMs: done - start,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    rows: [reference.rows, current.rows],
    stattests: [...new Set(report.columns.map((c) => c.stattest))],
    drifted: report.driftedColumns,
    scores: report.columns.map((c) => c.statistic),
  })}\n`,
);
