import { z } from 'zod';
import { parseModelVersionId, type ModelVersionRef } from '../../core/model-id.js';

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
