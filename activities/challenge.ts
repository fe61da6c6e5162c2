import { sql } from 'kysely';
import type { CatalogDb } from '../catalog/db.js';
import type { ChallengeMeasurement, ChallengeRequest, ChallengeSide } from '../core/challenge.js';
import type { PerformancePolicy } from '../core/live-monitoring.js';
import { measure } from './live-monitoring.js';

/**
 * Champion against challenger on the gateway's request log: the metric of each side on the labelled requests of
 * the phase, computed by the live monitor's `measure` (the test gate's metric definitions). A label belongs to the
 * request, whichever of the two versions it was posted to, so a shadow's rows take the labels callers sent for the
 * champion's answers. Catalog reads only; idempotent.
 */

interface Row {
  readonly outputs: unknown;
  readonly label: unknown;
}

const NO_GROUPS = {};

/** How many numbers the named output tensor of a logged answer holds (the log keeps each tensor's first values). */
function scoresIn(outputs: unknown, output: string): number {
  const tensor = (outputs as { name: string; data: unknown[] }[] | null)?.find((t) => t.name === output);
  return tensor ? tensor.data.filter((v) => typeof v === 'number' && Number.isFinite(v)).length : 0;
}
const labelCount = (label: unknown) => (Array.isArray(label) ? label.length : 1);

export function challengeActivities(db: CatalogDb) {
  /** The labels of these requests, one per request id, from either version (the newest when both have one). */
  const labelOf = (versions: readonly string[]) =>
    sql<unknown>`(select l.label from request_labels l where l.request_id = r.request_id and l.model_version_id in (${sql.join(versions)}) order by l.received_at desc limit 1)`;

  return {
    async measureChallenge(request: ChallengeRequest): Promise<ChallengeMeasurement> {
      const { challenger, policy } = request;
      const from = new Date(request.from);
      const to = new Date(request.to);
      const perf: PerformancePolicy = { task: policy.task, output: policy.output, threshold: policy.threshold, min: {}, max: {}, minLabels: 1 };
      const side = (modelVersionId: string, rows: readonly Row[], requests: number): ChallengeSide => {
        const measured = measure(
          rows.map((r) => ({ ...r, groups: NO_GROUPS })),
          perf,
          [],
        );
        const value = measured.labelled > 0 ? (measured.metrics[policy.metric] ?? null) : null;
        return { modelVersionId, value, labelled: measured.labelled, requests };
      };

      const counts = await db
        .selectFrom('gateway_requests')
        .select((eb) => [eb.fn.countAll<string>().as('requests'), sql<string>`count(distinct window_id)`.as('windows')])
        .where('deployment_id', '=', challenger.deploymentId)
        .executeTakeFirstOrThrow();
      const base = { mode: request.mode, metric: policy.metric, from: request.from, to: request.to, windows: Number(counts.windows) };

      // The champion: the version serving the target in full while the phase ran (the one a promotion replaces).
      const champion = await db
        .selectFrom('deployments')
        .select(['id', 'model_version_id'])
        .where('model_name', '=', request.modelName)
        .where('target', '=', request.target)
        .where('strategy', '=', 'replace')
        .where('model_version_id', '!=', challenger.modelVersionId)
        .where('from_time', '<=', to)
        .where((eb) => eb.or([eb('to_time', 'is', null), eb('to_time', '>=', from)]))
        .orderBy('from_time', 'desc')
        .limit(1)
        .executeTakeFirst();
      const versions = [challenger.modelVersionId, ...(champion ? [champion.model_version_id] : [])];
      if (!champion) {
        const rows = await db
          .selectFrom('gateway_requests as r')
          .select(['r.outputs', labelOf(versions).as('label')])
          .where('r.deployment_id', '=', challenger.deploymentId)
          .execute();
        return { ...base, challenger: side(challenger.modelVersionId, rows.filter((r) => r.label !== null), Number(counts.requests)), champion: null };
      }

      if (request.mode === 'shadow') {
        // The mirrored requests: each one the challenger answered, the champion's answer to it, and its label.
        const rows = await db
          .selectFrom('gateway_requests as r')
          .select([
            'r.outputs',
            labelOf(versions).as('label'),
            sql<unknown>`(select p.outputs from gateway_requests p where p.request_id = r.request_id and p.deployment_id = ${champion.id} order by p.seq desc limit 1)`.as(
              'champion_outputs',
            ),
          ])
          .where('r.deployment_id', '=', challenger.deploymentId)
          .execute();
        // Exactly the same rows on both sides: every label of a request needs a score from each.
        const both = rows.filter(
          (r) => r.label !== null && r.champion_outputs !== null && scoresIn(r.outputs, policy.output) >= labelCount(r.label) && scoresIn(r.champion_outputs, policy.output) >= labelCount(r.label),
        );
        const championRequests = rows.filter((r) => r.champion_outputs !== null).length;
        return {
          ...base,
          challenger: side(challenger.modelVersionId, both, Number(counts.requests)),
          champion: side(
            champion.model_version_id,
            both.map((r) => ({ outputs: r.champion_outputs, label: r.label })),
            championRequests,
          ),
        };
      }

      // Canary: each side on the requests it served over the same span.
      const served = (deploymentId: string, within: boolean) => {
        let q = db.selectFrom('gateway_requests as r').select(['r.outputs', labelOf(versions).as('label')]).where('r.deployment_id', '=', deploymentId);
        if (within) q = q.where('r.at', '>=', from).where('r.at', '<=', to);
        return q.execute();
      };
      const [mine, theirs] = await Promise.all([served(challenger.deploymentId, false), served(champion.id, true)]);
      return {
        ...base,
        challenger: side(challenger.modelVersionId, mine.filter((r) => r.label !== null), mine.length),
        champion: side(champion.model_version_id, theirs.filter((r) => r.label !== null), theirs.length),
      };
    },
  };
}
