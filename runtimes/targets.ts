import { join, resolve } from 'node:path';
import { z } from 'zod';
import { createOipRuntime, RuntimeError, type OipRuntimeDeps } from './oip.js';
import type { ModelRuntime, RuntimeTarget } from './runtime.js';

/**
 * Deployment targets from configuration: a manifest's `deploymentTarget` names one, and the target says which
 * runtime serves it and where its model repository is. `STEWARD_RUNTIMES` is a JSON object
 * `{"<target>": {"kind": "mlserver" | "builtin", "url": "http://…", "repository": "/path"}}`; unset, the one
 * target `default` is the built-in runtime on loopback with its repository in the data directory.
 */

export const DEFAULT_RUNTIME_PORT = 8090;

const targetSchema = z.strictObject({
  kind: z.enum(['mlserver', 'builtin'], { error: 'must be "mlserver" or "builtin"' }),
  url: z
    .string({ error: 'must be an http(s) URL' })
    .refine((u) => URL.canParse(u) && ['http:', 'https:'].includes(new URL(u).protocol), 'must be an http(s) URL'),
  repository: z.string({ error: 'must be a directory path' }).min(1, 'must be a directory path'),
});

/** The manifest's `deploymentTarget` pattern. */
const TARGET_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

const targetsSchema = z
  .record(z.string(), targetSchema, { error: 'must be a JSON object of targets' })
  .superRefine((targets, ctx) => {
    const names = Object.keys(targets);
    if (names.length === 0) ctx.addIssue({ code: 'custom', message: 'must name at least one target' });
    for (const name of names) {
      if (!TARGET_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'must be a target name (lower-case letters, digits, ".", "_", "-")' });
    }
  });

export class RuntimeTargetsError extends Error {
  override readonly name = 'RuntimeTargetsError';
}

export interface RuntimeTargetEnv {
  readonly STEWARD_RUNTIMES?: string | undefined;
  readonly STEWARD_RUNTIME_PORT?: string | undefined;
  readonly STEWARD_DATA_DIR?: string | undefined;
}

export class RuntimeTargets {
  private readonly byName: ReadonlyMap<string, RuntimeTarget>;

  constructor(targets: readonly RuntimeTarget[]) {
    this.byName = new Map(targets.map((t) => [t.name, t]));
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  list(): RuntimeTarget[] {
    return [...this.byName.values()];
  }

  /** The target a manifest names; an unknown one is a final error (retrying will not configure it). */
  get(name: string): RuntimeTarget {
    const target = this.byName.get(name);
    if (!target) {
      throw new RuntimeError(`unknown deployment target "${name}"; configured targets (STEWARD_RUNTIMES): ${this.names.join(', ')}`, undefined, false);
    }
    return target;
  }
}

/** Parses the targets; a wrong value is a RuntimeTargetsError naming the variable and the field. */
export function parseRuntimeTargets(env: RuntimeTargetEnv = process.env): RuntimeTargets {
  const dataDir = env.STEWARD_DATA_DIR || '.steward';
  if (env.STEWARD_RUNTIMES === undefined || env.STEWARD_RUNTIMES.trim() === '') {
    const portText = env.STEWARD_RUNTIME_PORT?.trim() || String(DEFAULT_RUNTIME_PORT);
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new RuntimeTargetsError(`STEWARD_RUNTIME_PORT: must be a port number (1-65535), not ${JSON.stringify(env.STEWARD_RUNTIME_PORT)}`);
    return new RuntimeTargets([{ name: 'default', kind: 'builtin', url: `http://127.0.0.1:${port}`, repository: resolve(join(dataDir, 'models')) }]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(env.STEWARD_RUNTIMES);
  } catch (err) {
    throw new RuntimeTargetsError(`STEWARD_RUNTIMES: must be a JSON object of targets (${(err as Error).message})`);
  }
  const parsed = targetsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${['STEWARD_RUNTIMES', ...i.path.map(String)].join('.')}: ${i.message}`);
    throw new RuntimeTargetsError(problems.join('; '));
  }
  return new RuntimeTargets(
    Object.entries(parsed.data).map(([name, t]) => ({ name, kind: t.kind, url: t.url.replace(/\/+$/, ''), repository: resolve(t.repository) })),
  );
}

/** One runtime client per target, made on first use and kept (its connections are reused). */
export interface Runtimes {
  readonly targets: RuntimeTargets;
  forTarget(name: string): ModelRuntime;
  close(): Promise<void>;
}

export function createRuntimes(targets: RuntimeTargets, deps: OipRuntimeDeps): Runtimes {
  const made = new Map<string, ReturnType<typeof createOipRuntime>>();
  return {
    targets,
    forTarget(name) {
      let runtime = made.get(name);
      if (!runtime) {
        // Both kinds speak the Open Inference Protocol; they differ in the implementations they serve.
        runtime = createOipRuntime(targets.get(name), deps);
        made.set(name, runtime);
      }
      return runtime;
    },
    async close() {
      const all = [...made.values()];
      made.clear();
      await Promise.all(all.map((r) => r.close()));
    },
  };
}
