import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

/**
 * zod, as the template DSL uses it. The workflow bundle preloads this module (workers/bundle.ts): the sandbox then
 * evaluates zod once per worker instead of once per lifecycle (about 0.45 MiB and 5 ms each) and freezes what it
 * exports. Whatever zod sets up lazily on those exports is therefore set up here, before the freeze: the English
 * messages (zod/mini loads no locale) and its answer to whether it may compile parsers.
 */
z.config(en());
void z.util.allowsEval.value;

export { z };
