import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { artifactSchema, manifestSchema } from '../../core/manifest.js';
import { modelVersionId } from '../../core/model-id.js';
import { modelPage, versionPage } from '../../catalog/inventory.js';
import { authorize, anyRole, isRole, principalOf } from '../auth.js';
import { ApiError } from '../errors.js';
import type { RouteDeps } from '../server.js';
import { observationSignal, promoteSignal, retireSignal, retrainSignal, rollbackSignal } from '../../workflows/messages.js';
import { METRIC_NAME_PATTERN } from '../../core/names.js';
import { idempotencyHeaders, modelIdParams, modelRefParams } from './params.js';
import { acceptYamlBodies, YAML_CONTENT_TYPES } from '../yaml.js';
import { assertReadable, manifestUris } from '../uri-check.js';

const reasonBody = z.strictObject({ reason: z.string().trim().min(1, 'a reason is required').max(2000) });

const isoTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time such as 2026-03-01T12:00:00Z' });
const observationBody = z
  .strictObject({
    windowStart: isoTime,
    windowEnd: isoTime,
    requests: z.number().int().min(0),
    errors: z.number().int().min(0),
    kpis: z
      .record(z.string().regex(METRIC_NAME_PATTERN, 'must be a metric name'), z.number().finite())
      .refine((k) => Object.keys(k).length <= 100, 'at most 100 KPIs')
      .default({}),
    /** The window's live inputs (CSV or JSON Lines), compared with the model's reference dataset for drift. */
    sample: artifactSchema.omit({ name: true }).optional(),
  })
  .refine((o) => o.errors <= o.requests, { message: 'cannot exceed requests', path: ['errors'] })
  .refine((o) => Date.parse(o.windowEnd) > Date.parse(o.windowStart), { message: 'must be after windowStart', path: ['windowEnd'] });

const retrainBody = reasonBody.extend({
  artifacts: z.array(artifactSchema).min(1).optional(),
  metrics: z.record(z.string().min(1), z.number().finite()).optional(),
});

/** Registration and lifecycle control: register, read, report observations, promote, roll back, retrain, retire. */
export const modelRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, authenticate, lifecycles, readPolicy }) => {
  const engineer = authorize(authenticate, isRole('engineer', 'admin'), 'engineer');
  acceptYamlBodies(app);

  app.post('/models', { schema: { body: manifestSchema, consumes: ['application/json', ...YAML_CONTENT_TYPES] }, onRequest: engineer }, async (request, reply) => {
    assertReadable(manifestUris(request.body), readPolicy);
    const result = await lifecycles.register(request.body, principalOf(request));
    return reply.status(result.created ? 201 : 200).send(result);
  });

  app.get(
    '/models/:ref',
    { schema: { params: modelRefParams }, onRequest: authorize(authenticate, anyRole, 'any role') },
    async (request) => {
      const target = request.params.ref;
      if (target.kind === 'model') {
        const page = await modelPage(db, target.name);
        if (!page) throw new ApiError(404, 'model_not_found', `no model named ${target.name}`);
        return page;
      }
      const ref = target.ref;
      // Temporal answers for the live lifecycle; the catalog adds everything recorded so far.
      const description = await lifecycles.describe(ref);
      return {
        modelVersionId: modelVersionId(ref),
        workflowId: description.workflowId,
        runId: description.runId,
        status: description.status.name,
        stage: lifecycles.stageOf(description),
        startedAt: description.startTime.toISOString(),
        closedAt: description.closeTime?.toISOString() ?? null,
        catalog: await versionPage(db, modelVersionId(ref)),
      };
    },
  );

  app.post(
    '/models/:id/retrain',
    { schema: { params: modelIdParams, body: retrainBody }, onRequest: engineer },
    async (request, reply) => {
      const ref = request.params.id;
      const { reason, artifacts, metrics } = request.body;
      // New artifacts must be readable locations, as at registration (bad input: nothing is signalled).
      assertReadable((artifacts ?? []).map((a, i) => ({ field: `body.artifacts.${i}.uri`, uri: a.uri })), readPolicy);
      const { stage, successor } = await lifecycles.runningStatus(ref);
      const problem =
        stage !== 'monitor' ? `only a version in the monitor stage can be retrained (stage ${stage})` : successor ? `a retrain is already under way (${successor.workflowId})` : undefined;
      // Refused or not, the request goes to the lifecycle, so that its history holds every request made.
      await lifecycles.handle(ref).signal(retrainSignal, {
        requestedBy: principalOf(request),
        reason,
        ...(artifacts ? { artifacts } : {}),
        ...(metrics ? { metrics } : {}),
        ...(problem ? { refused: problem } : {}),
      });
      if (problem) throw new ApiError(409, 'not_retrainable', `${modelVersionId(ref)}: ${problem}`);
      return reply.status(202).send({ modelVersionId: modelVersionId(ref), requested: 'retrain' });
    },
  );

  app.post(
    '/models/:id/retire',
    { schema: { params: modelIdParams, body: reasonBody }, onRequest: engineer },
    async (request, reply) => {
      const ref = request.params.id;
      await lifecycles.requireRunning(ref);
      // Acted on in every stage: an open gate or a running scan is cancelled and the version retires.
      await lifecycles.handle(ref).signal(retireSignal, { requestedBy: principalOf(request), reason: request.body.reason });
      return reply.status(202).send({ modelVersionId: modelVersionId(ref), requested: 'retire' });
    },
  );

  app.post(
    '/models/:id/promote',
    { schema: { params: modelIdParams, body: reasonBody }, onRequest: engineer },
    async (request, reply) => {
      const ref = request.params.id;
      // Ends the template's shadow or canary phase now instead of at its hold time; the lifecycle records who and why.
      const { phase, stage } = await lifecycles.runningStatus(ref);
      const problem = phase ? undefined : `no shadow or canary phase is under way (stage ${stage})`;
      await lifecycles.handle(ref).signal(promoteSignal, { requestedBy: principalOf(request), reason: request.body.reason, ...(problem ? { refused: problem } : {}) });
      if (!phase) throw new ApiError(409, 'no_deployment_phase', `${modelVersionId(ref)} is not in a shadow or canary phase (stage ${stage})`);
      return reply.status(202).send({ modelVersionId: modelVersionId(ref), requested: 'promote', phase: phase.name });
    },
  );

  app.post(
    '/models/:id/rollback',
    { schema: { params: modelIdParams, body: reasonBody }, onRequest: engineer },
    async (request, reply) => {
      const ref = request.params.id;
      // Ends the shadow or canary phase now and unloads the candidate; the champion keeps serving.
      const { phase, stage } = await lifecycles.runningStatus(ref);
      const problem = phase ? undefined : `no shadow or canary phase is under way (stage ${stage})`;
      await lifecycles.handle(ref).signal(rollbackSignal, { requestedBy: principalOf(request), reason: request.body.reason, ...(problem ? { refused: problem } : {}) });
      if (!phase) throw new ApiError(409, 'no_deployment_phase', `${modelVersionId(ref)} is not in a shadow or canary phase (stage ${stage}); a promoted version is replaced by registering its successor`);
      return reply.status(202).send({ modelVersionId: modelVersionId(ref), requested: 'rollback', phase: phase.name });
    },
  );

  app.post(
    '/models/:id/observations',
    { schema: { params: modelIdParams, body: observationBody, headers: idempotencyHeaders }, onRequest: engineer },
    async (request, reply) => {
      const ref = request.params.id;
      assertReadable([{ field: 'body.sample.uri', uri: request.body.sample?.uri }], readPolicy);
      // The serving side reports a window; the lifecycle judges it against its template's monitor policy.
      const { deployment, phase, stage, drift } = await lifecycles.runningStatus(ref);
      if (!deployment && !phase) {
        throw new ApiError(409, 'not_serving', `${modelVersionId(ref)} is not serving traffic (stage ${stage}); nothing to observe`);
      }
      if (request.body.sample && !drift.watched) {
        const problem = `${modelVersionId(ref)} does not watch feature drift: ${drift.unwatchedBecause}`;
        throw new ApiError(422, 'drift_not_watched', `body.sample: ${problem}`, [{ field: 'body.sample', problem }]);
      }
      const id = request.headers['idempotency-key'] ?? randomUUID();
      await lifecycles.handle(ref).signal(observationSignal, { id, ...request.body, reportedBy: principalOf(request).id });
      return reply.status(202).send({ modelVersionId: modelVersionId(ref), observation: id });
    },
  );
};
