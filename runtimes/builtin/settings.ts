import { readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { DATATYPES, type TensorMetadata } from '../protocol.js';

/**
 * MLServer's model-settings.json, the part the built-in runtime reads: `name` (the folder's name when
 * absent, as MLServer does), `implementation`, `parameters.uri` (relative to the folder) and
 * `parameters.version`, and the optional `inputs`/`outputs` metadata, whose order is the column order of
 * an [N, F] input. Other MLServer keys are accepted and ignored.
 */
const tensorMetadataSchema = z.looseObject({
  name: z.string().min(1),
  datatype: z.enum(DATATYPES),
  shape: z.array(z.number().int()).default([-1]),
});

export const modelSettingsSchema = z.looseObject({
  name: z.string().min(1).optional(),
  implementation: z.string().min(1),
  parameters: z.looseObject({ uri: z.string().min(1).optional(), version: z.string().min(1).optional() }).optional(),
  inputs: z.array(tensorMetadataSchema).optional(),
  outputs: z.array(tensorMetadataSchema).optional(),
});

export interface ModelSettings {
  readonly name: string;
  readonly implementation: string;
  readonly version: string | undefined;
  /** Absolute path of the artifact, inside the model's folder tree. */
  readonly artifact: string | undefined;
  readonly inputs: readonly TensorMetadata[] | undefined;
  readonly outputs: readonly TensorMetadata[] | undefined;
  readonly folder: string;
}

/** One model-settings.json: its settings, or why they cannot be read. */
export type SettingsFile = { readonly ok: true; readonly settings: ModelSettings } | { readonly ok: false; readonly name: string; readonly problem: string };

export const SETTINGS_FILE = 'model-settings.json';

/** Every `<repository>/<folder>/model-settings.json`, in folder order. */
export async function scanRepository(repository: string): Promise<SettingsFile[]> {
  let folders: string[];
  try {
    folders = (await readdir(repository, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  folders.sort();
  const files = await Promise.all(folders.map((folder) => readSettings(repository, folder)));
  return files.filter((f): f is SettingsFile => f !== null);
}

async function readSettings(repository: string, folderName: string): Promise<SettingsFile | null> {
  const folder = join(repository, folderName);
  let text: string;
  try {
    text = await readFile(join(folder, SETTINGS_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return { ok: false, name: folderName, problem: `${folderName}/${SETTINGS_FILE}: ${(err as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, name: folderName, problem: `${folderName}/${SETTINGS_FILE} is not JSON: ${(err as Error).message}` };
  }
  const parsed = modelSettingsSchema.safeParse(json);
  if (!parsed.success) {
    const name = typeof (json as { name?: unknown })?.name === 'string' ? (json as { name: string }).name : folderName;
    const issue = parsed.error.issues[0];
    return { ok: false, name, problem: `${folderName}/${SETTINGS_FILE}: ${issue?.path.join('.') || '(root)'} ${issue?.message ?? 'is invalid'}` };
  }
  const s = parsed.data;
  const name = s.name ?? folderName;
  const uri = s.parameters?.uri;
  const artifact = uri === undefined ? undefined : resolve(folder, uri.replace(/^file:(\/\/)?/, ''));
  if (artifact !== undefined) {
    const inside = relative(folder, artifact);
    if (inside.startsWith('..') || isAbsolute(inside)) {
      return { ok: false, name, problem: `${folderName}/${SETTINGS_FILE}: parameters.uri must name a file inside the model's folder` };
    }
  }
  return {
    ok: true,
    settings: {
      name,
      implementation: s.implementation,
      version: s.parameters?.version,
      artifact,
      inputs: s.inputs,
      outputs: s.outputs,
      folder,
    },
  };
}
