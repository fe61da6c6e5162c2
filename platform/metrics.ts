import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CatalogDb } from '../catalog/db.js';
import { STAGES } from '../core/stages.js';

/** Outcomes that close a gate (test, scan, approval); `entered` and `escalated` do not. */
const GATE_STAGES = ['test', 'scan', 'approval'] as const;
const GATE_DECISIONS = ['passed', 'failed', 'rejected', 'expired', 'cancelled'] as const;
/** A monitoring window's verdicts are recorded under these steps, in deploy phases and in monitor alike. */
const WINDOW_STEPS = ['observation', 'drift'] as const;
/** One minute to a month: approvals are people, waiting minutes to weeks. */
const APPROVAL_WAIT_BUCKETS_SECONDS = [60, 600, 3600, 4 * 3600, 86_400, 3 * 86_400, 7 * 86_400, 14 * 86_400, 30 * 86_400];

/**
 * Steward's own metrics, read from the catalog when scraped. The catalog is the projection every worker
 * writes, so the numbers are the same whichever process serves them, count every transition once however
 * often an activity was retried, and survive restarts. Every API replica reports the same totals: aggregate
 * them with max(), not sum(). Labels are stages, template steps and outcomes, never model names.
 */
export function stewardRegistry(db: CatalogDb): Registry {
  const registry = new Registry();

  new Gauge({
    name: 'steward_lifecycles',
    help: 'Model versions by the stage their lifecycle is in (retire: ended).',
    labelNames: ['stage'],
    registers: [registry],
    async collect() {
      const rows = await db.selectFrom('model_versions').select(['stage', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('stage').execute();
      const counts = new Map(rows.map((r) => [r.stage, Number(r.n)]));
      for (const stage of new Set<string>([...STAGES, ...counts.keys()])) this.set({ stage }, counts.get(stage) ?? 0);
    },
  });

  new Counter({
    name: 'steward_gate_outcomes_total',
    help: 'Gate decisions (test, scan and approval stages) by stage, template step and outcome.',
    labelNames: ['stage', 'step', 'outcome'],
    registers: [registry],
    async collect() {
      const rows = await db
        .selectFrom('stage_transitions')
        .select(['stage', 'step', 'outcome', (eb) => eb.fn.countAll<string>().as('n')])
        .where('stage', 'in', GATE_STAGES)
        .where('outcome', 'in', GATE_DECISIONS)
        .groupBy(['stage', 'step', 'outcome'])
        .execute();
      this.reset();
      for (const r of rows) this.inc({ stage: r.stage, step: r.step ?? '', outcome: r.outcome }, Number(r.n));
    },
  });

  new Counter({
    name: 'steward_window_verdicts_total',
    help: 'Verdicts on observed monitoring windows: check is observation (error rate, KPIs) or drift.',
    labelNames: ['check', 'outcome'],
    registers: [registry],
    async collect() {
      const rows = await db
        .selectFrom('stage_transitions')
        .select(['step', 'outcome', (eb) => eb.fn.countAll<string>().as('n')])
        .where('step', 'in', WINDOW_STEPS)
        .groupBy(['step', 'outcome'])
        .execute();
      this.reset();
      for (const r of rows) this.inc({ check: r.step ?? '', outcome: r.outcome }, Number(r.n));
    },
  });

  new Histogram({
    name: 'steward_approval_wait_seconds',
    help: 'Time from entering the approval gate to its decision, by outcome.',
    labelNames: ['outcome'],
    buckets: APPROVAL_WAIT_BUCKETS_SECONDS,
    registers: [registry],
    async collect() {
      const rows = await db
        .selectFrom('stage_transitions')
        .select(['workflow_id', 'outcome', 'at'])
        .where('stage', '=', 'approval')
        .orderBy('workflow_id')
        .orderBy('seq')
        .execute();
      this.reset();
      let entered: { workflowId: string; at: number } | null = null;
      for (const r of rows) {
        const at = new Date(r.at).getTime();
        if (r.outcome === 'entered') entered = { workflowId: r.workflow_id, at };
        else if (entered?.workflowId === r.workflow_id && (GATE_DECISIONS as readonly string[]).includes(r.outcome)) {
          this.observe({ outcome: r.outcome }, Math.max(0, at - entered.at) / 1000);
          entered = null;
        }
      }
    },
  });

  return registry;
}

/** The Temporal SDK's Prometheus text from a worker's metrics address (host:port; 0.0.0.0 means this host). */
export async function fetchSdkMetrics(address: string, timeoutMs = 2_000): Promise<string> {
  const target = address.replace(/^(0\.0\.0\.0|\[::\]):/, '127.0.0.1:');
  const res = await fetch(`http://${target}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${target}/metrics answered ${res.status}`);
  return res.text();
}

/**
 * Joins Prometheus text expositions into one: a metric's `# HELP` and `# TYPE` lines appear once (from the
 * first text that has them), as the format requires.
 */
export function mergeExpositions(...texts: string[]): string {
  const described = new Set<string>();
  const out: string[] = [];
  for (const text of texts) {
    for (const line of text.split('\n')) {
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (meta) {
        const key = `${meta[1]} ${meta[2]}`;
        if (described.has(key)) continue;
        described.add(key);
      }
      if (line.trim() !== '') out.push(line);
    }
  }
  return `${out.join('\n')}\n`;
}
