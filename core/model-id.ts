/**
 * A model version is addressed as `name@version` everywhere: in the API path, in the CLI and in the
 * lifecycle's workflow id. The workflow id is derived, never stored, so registering the same version twice
 * reaches the same lifecycle.
 */
export const MODEL_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9._-]{0,98}[a-z0-9])?$/;
export const SEMVER_PATTERN =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export interface ModelVersionRef {
  readonly name: string;
  readonly version: string;
}

const WORKFLOW_ID_PREFIX = 'model-version:';

/** `fraud-scorer@1.2.0` */
export function modelVersionId(ref: ModelVersionRef): string {
  return `${ref.name}@${ref.version}`;
}

/** Deterministic lifecycle workflow id: one lifecycle per model version. */
export function lifecycleWorkflowId(ref: ModelVersionRef): string {
  return `${WORKFLOW_ID_PREFIX}${modelVersionId(ref)}`;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; problem: string };

/** Parses `name@version`, naming what is wrong when it is not one. */
export function parseModelVersionId(id: string): ParseResult<ModelVersionRef> {
  const at = id.lastIndexOf('@');
  if (at <= 0) return { ok: false, problem: 'expected "<name>@<semver>", e.g. "fraud-scorer@1.2.0"' };
  const name = id.slice(0, at);
  const version = id.slice(at + 1);
  if (!MODEL_NAME_PATTERN.test(name)) {
    return { ok: false, problem: `model name "${name}" must be lower-case letters, digits, ".", "_" or "-"` };
  }
  if (!SEMVER_PATTERN.test(version)) return { ok: false, problem: `version "${version}" is not semver` };
  return { ok: true, value: { name, version } };
}

export type VersionBump = 'major' | 'minor' | 'patch';

/** The next release version; pre-release and build tags are dropped. */
export function bumpVersion(version: string, bump: VersionBump): string {
  const match = SEMVER_PATTERN.exec(version);
  if (!match) throw new TypeError(`version "${version}" is not semver`);
  const [major, minor, patch] = [Number(match[1]), Number(match[2]), Number(match[3])];
  switch (bump) {
    case 'major':
      return `${major + 1}.0.0`;
    case 'minor':
      return `${major}.${minor + 1}.0`;
    case 'patch':
      return `${major}.${minor}.${patch + 1}`;
  }
}
