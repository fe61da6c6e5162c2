import { join, resolve } from 'node:path';
import { z } from 'zod';

/** Where and how a worker runs training jobs; from the environment unless a worker is given its own. */
export interface TrainingSettings {
  /** Each run writes its outputs in a directory of its own under this one (inside the read roots, so deploys can read them). */
  readonly outputDir: string;
  /**
   * Program names a template's argv may start with, mapped to the executable this worker runs
   * (`{"python":"/opt/venv/bin/python"}`); a name not listed runs as given, found on PATH.
   */
  readonly commands: Readonly<Record<string, string>>;
  /** The API's base URL as pipelines reach it, for webhook callbacks (`<base>/training/callbacks/<token>`). */
  readonly callbackBaseUrl: string | null;
}

const commandsSchema = z.record(z.string().min(1), z.string().min(1));

/** STEWARD_TRAINING_DIR, STEWARD_TRAINING_COMMANDS (JSON), STEWARD_PUBLIC_URL; the problem named on a bad value. */
export function trainingSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TrainingSettings {
  const dataDir = env.STEWARD_DATA_DIR || '.steward';
  let commands: Record<string, string> = {};
  if (env.STEWARD_TRAINING_COMMANDS) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(env.STEWARD_TRAINING_COMMANDS);
    } catch (err) {
      throw new Error(`invalid configuration: STEWARD_TRAINING_COMMANDS is not JSON (${(err as Error).message})`);
    }
    const result = commandsSchema.safeParse(parsed);
    if (!result.success) throw new Error('invalid configuration: STEWARD_TRAINING_COMMANDS must map program names to executables, e.g. {"python":"/usr/bin/python3"}');
    commands = result.data;
  }
  return {
    outputDir: resolve(env.STEWARD_TRAINING_DIR || join(dataDir, 'artifacts', 'trained')),
    commands,
    callbackBaseUrl: env.STEWARD_PUBLIC_URL ? env.STEWARD_PUBLIC_URL.replace(/\/+$/, '') : null,
  };
}
