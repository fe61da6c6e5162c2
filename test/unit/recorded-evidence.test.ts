import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { describe, expect, it } from 'vitest';
import { recordedTransitions } from '../../audit/run-histories.js';
import type { StageTransition } from '../../core/stages.js';

/**
 * The evidence types (core/evidence.ts) describe what every generation of recorded histories holds: each
 * transition in the fixtures has the fields its kind declares required, and none its kind does not know.
 */
type Kind = { readonly required: readonly string[]; readonly optional?: readonly string[] };
const DEPLOYMENT = ['deploymentId', 'target', 'since'];
const WINDOW = { required: ['window', 'requests', 'errors', 'kpis', 'errorRate', 'breaches', 'missingKpis'], optional: ['phase'] };

function kindOf(t: StageTransition): Kind | null {
  if (t.step === 'observation') return WINDOW;
  if (t.step === 'drift') {
    return t.outcome === 'failed'
      ? { required: ['window', 'sample', 'problem'], optional: ['phase'] }
      : { required: ['window', 'sample', 'drifted', 'share', 'columnShare', 'columns', 'columnsCompared', 'driftedColumns', 'referenceRows', 'currentRows'], optional: ['phase'] };
  }
  if (t.step === 'request') return { required: ['request', 'reason', 'problem'] };
  if (t.step === 'template') return { required: ['from', 'to'] };
  if (t.outcome === 'cancelled') return { required: ['reason'], optional: ['approvals'] };
  switch (t.stage) {
    case 'register':
      return { required: ['owner', 'riskTier', 'artifacts', 'parent'], optional: ['template'] };
    case 'test':
      return 'reason' in t.detail ? null : { required: ['minMetrics'], optional: ['maxMetrics'] };
    case 'scan':
      return 'reason' in t.detail ? null : { required: ['blockAt'], optional: ['maxSeverity', 'problem'] };
    case 'approval':
      if (t.outcome === 'entered') return { required: ['groups'], optional: ['quorum', 'requireEveryGroup', 'excludeOwningTeam', 'deadline', 'authors', 'owningTeams'] };
      if (t.outcome === 'escalated') return { required: ['groups', 'quorum', 'deadline'] };
      if (t.outcome === 'expired') return { required: ['deadline', 'approvals'] };
      return { required: ['decision', 'comment', 'roles'], optional: ['approvers'] };
    case 'deploy':
      if (t.step === undefined) return { required: [...DEPLOYMENT, 'strategy'] };
      if (t.outcome === 'entered') return { required: [...DEPLOYMENT, 'strategy', 'trafficShare', 'until'] };
      return { required: ['reason'], optional: ['breaches'] };
    case 'monitor':
      return { required: ['intervalMs', 'deployment'], optional: ['drift', 'kpis', 'maxErrorRate'] };
    case 'retrain':
      return { required: ['reason'], optional: ['successor', 'problem'] };
    case 'retire':
      return { required: ['endedBy', 'reason'] };
  }
  return { required: ['reason'] };
}

const dir = join(process.cwd(), 'test', 'fixtures', 'histories');
const transitions = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .flatMap((f) => recordedTransitions(historyFromJSON(JSON.parse(readFileSync(join(dir, f), 'utf8')))).map((t) => ({ fixture: f, t })));

describe('recorded evidence', () => {
  it('every transition of every fixture generation fits its evidence kind', () => {
    expect(transitions.length).toBeGreaterThan(300);
    const misfits = transitions.flatMap(({ fixture, t }) => {
      const kind = kindOf(t);
      if (!kind) return [];
      const keys = Object.keys(t.detail);
      const missing = kind.required.filter((k) => !keys.includes(k));
      const unknown = keys.filter((k) => !kind.required.includes(k) && !(kind.optional ?? []).includes(k));
      return missing.length || unknown.length ? [`${fixture} #${t.seq} ${t.stage}/${t.step ?? '-'} ${t.outcome}: missing ${missing} unknown ${unknown}`] : [];
    });
    expect(misfits).toEqual([]);
  });
});
