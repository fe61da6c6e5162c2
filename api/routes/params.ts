import { z } from 'zod';
import { MODEL_NAME_PATTERN, parseModelVersionId, type ModelVersionRef } from '../../core/model-id.js';

/**
 * Free text that reaches a PostgreSQL query. PostgreSQL text cannot hold NUL (U+0000) and fails the whole
 * statement on one, so it is refused here, naming the field, instead of surfacing as a server error.
 */
export const queryText = () => z.string().min(1).refine((s) => !s.includes('\u0000'), 'must not contain a NUL character (U+0000)');

/** `Idempotency-Key`: a retried request with the same key is the same request (an attempt, a window). */
export const idempotencyHeaders = z.object({ 'idempotency-key': z.string().min(8).max(200).optional() });

/** `:id` in every model route: `name@version`, parsed into a reference or rejected naming the problem. */
export const modelIdParams = z.object({
  id: z.string().transform((id, ctx): ModelVersionRef => {
    const parsed = parseModelVersionId(id);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: parsed.problem });
      return z.NEVER;
    }
    return parsed.value;
  }),
});

export type ModelOrVersion = { readonly kind: 'model'; readonly name: string } | { readonly kind: 'version'; readonly ref: ModelVersionRef };

/** `:ref` of the read routes: a model name, or `name@version` for one version. */
export const modelRefParams = z.object({
  ref: z.string().transform((ref, ctx): ModelOrVersion => {
    if (!ref.includes('@')) {
      if (MODEL_NAME_PATTERN.test(ref)) return { kind: 'model', name: ref };
      ctx.addIssue({ code: 'custom', message: `"${ref}" is neither a model name nor "<name>@<semver>"` });
      return z.NEVER;
    }
    const parsed = parseModelVersionId(ref);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: parsed.problem });
      return z.NEVER;
    }
    return { kind: 'version', ref: parsed.value };
  }),
});
