import { Context } from '@temporalio/activity';
import type pg from 'pg';
import type { ReadSettings } from '../activities/read-uri.js';
import { scanningActivities } from '../activities/scanning.js';
import { testingActivities } from '../activities/testing.js';
import type { ModelManifest } from '../core/manifest.js';
import type { ContentStore } from '../evidence/content-store.js';
import { modelToServe } from '../runtimes/runtime.js';
import type { Runtimes } from '../runtimes/targets.js';

/** The baseline's tables: one row per version, transition, attempt and deployment, as a plain app would keep. */
export const BARE_SCHEMA = `
  create table if not exists bare_versions (id text primary key, name text not null, manifest jsonb not null, at timestamptz not null default now());
  create table if not exists bare_transitions (id text not null, seq int not null, stage text not null, outcome text not null, detail jsonb not null, at timestamptz not null default now(), primary key (id, seq));
  create table if not exists bare_attempts (id text not null, seq int not null, principal text not null, decision text not null, stage text not null, primary key (id, seq));
  create table if not exists bare_deployments (id text primary key, model_version_id text not null, target text not null, from_time timestamptz not null default now());
`;

/**
 * The baseline's activities: the same evaluation and scan as Steward's (its own functions), the same runtime
 * load, and one plain insert (idempotent on its key) for each record Steward writes.
 */
export function bareActivities(pool: pg.Pool, evidence: ContentStore, reading: ReadSettings, runtimes: Runtimes) {
  const { evaluateModel } = testingActivities(evidence);
  const { scanArtifacts } = scanningActivities(evidence, reading);
  return {
    evaluateModel,
    scanArtifacts,
    async registerVersion(input: { id: string; manifest: ModelManifest }): Promise<void> {
      await pool.query('insert into bare_versions (id, name, manifest) values ($1, $2, $3) on conflict do nothing', [input.id, input.manifest.name, JSON.stringify(input.manifest)]);
    },
    async recordStage(t: { id: string; seq: number; stage: string; outcome: string; detail: Record<string, unknown> }): Promise<void> {
      await pool.query('insert into bare_transitions (id, seq, stage, outcome, detail) values ($1, $2, $3, $4, $5) on conflict do nothing', [
        t.id,
        t.seq,
        t.stage,
        t.outcome,
        JSON.stringify(t.detail),
      ]);
    },
    async recordApprovalAttempt(r: { id: string; seq: number; principal: string; decision: string; stage: string }): Promise<void> {
      await pool.query('insert into bare_attempts (id, seq, principal, decision, stage) values ($1, $2, $3, $4, $5) on conflict do nothing', [r.id, r.seq, r.principal, r.decision, r.stage]);
    },
    async deployVersion(input: { deploymentId: string; modelVersionId: string; manifest: ModelManifest }): Promise<{ deploymentId: string; target: string }> {
      const runtime = runtimes.forTarget(input.manifest.deploymentTarget);
      const model = modelToServe(input.manifest, input.modelVersionId);
      const heartbeat = setInterval(() => Context.current().heartbeat('loading'), 2_000);
      try {
        const serving = await runtime.ready(model.name).catch(() => false);
        if (!serving) await runtime.load(model, { signal: Context.current().cancellationSignal });
      } finally {
        clearInterval(heartbeat);
      }
      await pool.query('insert into bare_deployments (id, model_version_id, target) values ($1, $2, $3) on conflict do nothing', [input.deploymentId, input.modelVersionId, input.manifest.deploymentTarget]);
      return { deploymentId: input.deploymentId, target: input.manifest.deploymentTarget };
    },
  };
}

export type BareActivities = ReturnType<typeof bareActivities>;
