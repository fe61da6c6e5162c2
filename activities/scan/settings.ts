import { z } from 'zod';
import { DEFAULT_DEPENDENCY_DENY_LIST } from './dependencies.js';
import { DEFAULT_LICENSE_ALLOW_LIST } from './license.js';

/** What the scanner checks against, from the worker's environment; every default is offline. */
export interface ScanSettings {
  /** Directory of OSV JSON records (e.g. an export of osv.dev's PyPI data); null: no advisory check. */
  readonly osvDir: string | null;
  readonly dependencyDenyList: readonly string[];
  readonly licenseAllowList: readonly string[];
}

const list = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .optional();

const envSchema = z.object({
  STEWARD_OSV_DIR: z.string().trim().min(1, 'must be a directory path').optional(),
  STEWARD_DEPENDENCY_DENY_LIST: list,
  STEWARD_LICENSE_ALLOW_LIST: list,
});

export function scanSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ScanSettings {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${issue.path.join('.')}: ${issue.message}`);
  }
  const e = parsed.data;
  return {
    osvDir: e.STEWARD_OSV_DIR ?? null,
    dependencyDenyList: e.STEWARD_DEPENDENCY_DENY_LIST ?? DEFAULT_DEPENDENCY_DENY_LIST,
    licenseAllowList: e.STEWARD_LICENSE_ALLOW_LIST ?? DEFAULT_LICENSE_ALLOW_LIST,
  };
}
