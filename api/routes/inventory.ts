import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { InvalidCursorError, productionPage, searchVersions, SORTS } from '../../catalog/inventory.js';
import { manifestJsonSchema, modelKindSchema, riskTierSchema, templateRefSchema } from '../../core/manifest.js';
import { MODEL_NAME_PATTERN } from '../../core/model-id.js';
import { STAGES } from '../../core/stages.js';
import { anyRole, authorize } from '../auth.js';
import { ApiError } from '../errors.js';
import type { RouteDeps } from '../server.js';
import { queryText } from './params.js';

const oneOrMany = z.union([queryText(), z.array(queryText())]).transform((v) => (Array.isArray(v) ? v : [v]));

const searchQuery = z.strictObject({
  stage: z.enum(STAGES).optional(),
  owner: queryText().optional(),
  team: queryText().optional(),
  riskTier: riskTierSchema.optional(),
  kind: modelKindSchema.optional(),
  framework: queryText().optional(),
  template: templateRefSchema.optional(),
  tag: oneOrMany.optional(),
  q: queryText().trim().min(1).max(500).optional(),
  deployed: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  sort: z.enum(Object.keys(SORTS) as [keyof typeof SORTS, ...(keyof typeof SORTS)[]]).default('created'),
  order: z.enum(['asc', 'desc']).default('desc'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  // Decoded and checked by the search itself (InvalidCursorError below).
  cursor: z.string().min(1).max(2000).optional(),
});

const productionQuery = z.strictObject({
  at: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time such as 2026-03-01T12:00:00Z' }).optional(),
  model: z.string().regex(MODEL_NAME_PATTERN, 'must be a model name').optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  // Continues a walk at the same time; decoded and checked by productionPage (InvalidCursorError below).
  cursor: z.string().min(1).max(2000).optional(),
});

const invalidCursor = (err: InvalidCursorError) =>
  new ApiError(400, 'invalid_request', `querystring.cursor: ${err.message}`, [{ field: 'querystring.cursor', problem: err.message }]);

/** The inventory: search, "what was in production at time T", full reports, and the manifest's JSON Schema. */
export const inventoryRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, evidence, authenticate }) => {
  const reader = authorize(authenticate, anyRole, 'any role');

  app.get('/models', { schema: { querystring: searchQuery }, onRequest: reader }, async (request) => {
    const { sort, order, limit, cursor, tag, ...filters } = request.query;
    try {
      return await searchVersions(db, { ...filters, ...(tag ? { tags: tag } : {}) }, { sort, order, limit, ...(cursor ? { cursor } : {}) });
    } catch (err) {
      if (err instanceof InvalidCursorError) throw invalidCursor(err);
      throw err;
    }
  });

  app.get('/production', { schema: { querystring: productionQuery }, onRequest: reader }, async (request) => {
    const { at, model, limit, cursor } = request.query;
    try {
      return await productionPage(db, { limit, ...(at ? { at: new Date(at) } : {}), ...(model ? { model } : {}), ...(cursor ? { cursor } : {}) });
    } catch (err) {
      if (err instanceof InvalidCursorError) throw invalidCursor(err);
      throw err;
    }
  });

  app.get(
    '/reports/:digest',
    { schema: { params: z.object({ digest: z.string().regex(/^[a-f0-9]{64}$/, 'must be a sha256 digest') }) }, onRequest: reader },
    async (request) => {
      const report = await evidence.get(request.params.digest);
      if (report === null) throw new ApiError(404, 'report_not_found', `no report with digest ${request.params.digest}`);
      return report;
    },
  );

  // Public, like /health: `security: []` tells OpenAPI clients no token is needed.
  app.get('/schemas/manifest.json', { schema: { security: [] } }, async () => manifestJsonSchema());
};
