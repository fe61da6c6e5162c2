import type { Command } from 'commander';
import type { ColumnHistogram } from '../activities/drift/histogram.js';
import type { StewardHttp } from './http.js';

/**
 * `steward observe <model>` and `steward drift <model>`: what the monitor saw in a version's live windows, read
 * from the API's per-window reports, as text for people (or JSON with --json).
 */

interface Brief {
  readonly outcome: string;
  readonly breaches?: readonly string[];
  readonly share?: number;
  readonly driftedColumns?: readonly string[];
  readonly statistic?: number;
  readonly problem?: string;
}

interface WindowSummary {
  readonly id: string;
  readonly start: string | null;
  readonly requests: number | null;
  readonly errors: number | null;
  readonly latencyMs: { p50: number; p95: number; p99: number } | null;
  readonly observation: Brief | null;
  readonly drift: Brief | null;
  readonly predictionDrift: Brief | null;
  readonly performance: { labelled: number; metrics: Record<string, number | null> } | null;
  readonly alerts: readonly { severity: string; streak: number; retrain: boolean }[];
}

/** A drift report's column, with its histogram when the report carries one. */
interface ReportColumn {
  readonly column: string;
  readonly stattest: string;
  readonly statistic: number;
  readonly threshold: number;
  readonly drifted: boolean;
  readonly [extra: string]: unknown;
}

type Options = { api: string; token?: string; json?: boolean };

export function monitoringCommands(program: Command, apiOptions: (cmd: Command) => Command, http: (o: Options) => StewardHttp, print: (v: unknown) => void): void {
  apiOptions(program.command('observe <model>').description("a version's recent live windows: traffic, errors, latency, drift, performance on labels, alerts"))
    .option('--limit <n>', 'windows to show, newest first', '20')
    .option('--json', 'print the API answer as JSON')
    .action(async (model: string, opts: Options & { limit: string }) => {
      const { body } = await http(opts).call('GET', `/models/${encodeURIComponent(model)}/windows?limit=${encodeURIComponent(opts.limit)}`);
      if (opts.json) return print(body);
      process.stdout.write(formatWindows(model, (body as { windows: WindowSummary[] }).windows));
    });

  apiOptions(program.command('drift <model>').description("feature drift of a version's window, column by column, with reference and current distributions"))
    .option('--window <id>', 'the window (default: the newest window with a drift report)')
    .option('--json', 'print the API answer as JSON')
    .action(async (model: string, opts: Options & { window?: string }) => {
      const client = http(opts);
      let window = opts.window;
      if (!window) {
        const { body } = await client.call('GET', `/models/${encodeURIComponent(model)}/windows?limit=100`);
        window = (body as { windows: WindowSummary[] }).windows.find((w) => w.drift && w.drift.outcome !== 'failed')?.id;
        if (!window) {
          process.stdout.write(`${model}: no window has a drift report yet\n`);
          return;
        }
      }
      const { body } = await client.call('GET', `/models/${encodeURIComponent(model)}/windows/${encodeURIComponent(window)}`);
      if (opts.json) return print(body);
      process.stdout.write(formatDrift(model, body as WindowSummary & { driftReport: { columns?: ReportColumn[]; share?: number; drifted?: boolean } | null }));
    });
}

const num = (x: number | null | undefined, digits = 3) => (x === null || x === undefined ? '–' : Number(x.toFixed(digits)).toString());

export function formatWindows(model: string, windows: readonly WindowSummary[]): string {
  if (windows.length === 0) return `${model}: no live windows yet\n`;
  const rows = windows.map((w) => [
    w.start ?? '?',
    String(w.requests ?? '–'),
    w.requests ? `${num((100 * (w.errors ?? 0)) / w.requests, 2)}%` : '–',
    w.latencyMs ? `${num(w.latencyMs.p95, 1)} ms` : '–',
    w.observation?.outcome ?? '–',
    w.drift ? `${w.drift.outcome}${w.drift.share !== undefined ? ` (${num(w.drift.share * 100, 0)}%)` : ''}` : '–',
    w.predictionDrift?.outcome ?? '–',
    w.performance ? `${w.performance.labelled} labels${metricsText(w.performance.metrics)}` : '–',
    w.alerts.map((a) => `${a.severity}${a.retrain ? ' → retrain' : ''}`).join(', ') || '–',
  ]);
  return table(['window start', 'requests', 'errors', 'p95', 'verdict', 'drift', 'prediction', 'performance', 'alerts'], rows);
}

function metricsText(metrics: Record<string, number | null>): string {
  const shown = ['accuracy', 'f1', 'rocAuc', 'rmse', 'mae'].filter((m) => metrics[m] !== undefined);
  return shown.length ? ` ${shown.map((m) => `${m} ${num(metrics[m])}`).join(' ')}` : '';
}

export function formatDrift(model: string, w: WindowSummary & { driftReport: { columns?: ReportColumn[]; share?: number; drifted?: boolean } | null }): string {
  const head = `${model} window ${w.id}${w.start ? ` (${w.start})` : ''}: ${w.drift?.outcome ?? 'no drift verdict'}${w.drift?.share !== undefined ? `, ${num(w.drift.share * 100, 0)}% of columns drifted` : ''}\n`;
  const columns = w.driftReport?.columns ?? [];
  if (columns.length === 0) return `${head}${w.drift?.problem ? `problem: ${w.drift.problem}\n` : ''}`;
  const rows = columns.map((c) => [c.column, c.stattest, num(c.statistic, 4), num(c.threshold, 4), c.drifted ? 'DRIFTED' : 'ok']);
  let out = head + table(['column', 'test', 'statistic', 'threshold', 'verdict'], rows);
  for (const c of columns) {
    const bars = histogramText(c);
    if (bars) out += `\n${c.column}\n${bars}`;
  }
  return out;
}

/**
 * A column's reference and current distributions as bars, from the histogram the drift report carries
 * (activities/drift/histogram.ts): shared bin edges for numbers, the most frequent categories plus the rest.
 */
function histogramText(c: ReportColumn): string | null {
  const h = c.histogram as ColumnHistogram | undefined;
  if (!h) return null;
  const rows =
    h.kind === 'numerical'
      ? h.reference.map((r, i) => ({ label: `${num(h.edges[i]!, 2)}–${num(h.edges[i + 1]!, 2)}`, ref: r, cur: h.current[i]! }))
      : [
          ...h.categories.map((label, i) => ({ label, ref: h.reference[i]!, cur: h.current[i]! })),
          ...(h.otherReference + h.otherCurrent > 0 ? [{ label: '(other)', ref: h.otherReference, cur: h.otherCurrent }] : []),
        ];
  const total = (side: 'ref' | 'cur') => rows.reduce((a, r) => a + r[side], 0) || 1;
  const [refTotal, curTotal] = [total('ref'), total('cur')];
  const bar = (x: number) => '█'.repeat(Math.round(x * 30)).padEnd(30);
  const pct = (x: number) => `${num(x * 100, 1).padStart(5)}%`;
  return rows.map(({ label, ref, cur }) => `  ${label.padEnd(18)} ref ${bar(ref / refTotal)} ${pct(ref / refTotal)}   now ${bar(cur / curTotal)} ${pct(cur / curTotal)}`).join('\n') + '\n';
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
