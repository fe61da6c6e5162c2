import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { templatesInUse } from '../../catalog/inventory.js';
import { templates } from '../../templates/index.js';
import { anyRole, authorize } from '../auth.js';
import type { RouteDeps } from '../server.js';

/** The released templates, and how many lifecycles that have not retired run each version. */
export const templateRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, authenticate }) => {
  app.get('/templates', { onRequest: authorize(authenticate, anyRole, 'any role') }, async () => {
    const inUse = await templatesInUse(db);
    return {
      templates: templates.list().map((t) => ({
        ref: t.ref,
        name: t.name,
        version: t.version,
        description: t.description,
        migrateFrom: t.migrateFrom ?? [],
        inUse: inUse.get(t.ref) ?? 0,
      })),
    };
  });
};
