import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { manifestSchema, type ModelManifest } from '../core/manifest.js';
import { CliError } from './http.js';

/**
 * Reads a manifest from JSON or YAML. Artifact URIs may be relative (`file:model.onnx`), meaning relative to
 * the manifest file; they are made absolute before validation so the server sees a complete URI.
 */
export async function readManifestFile(path: string): Promise<ModelManifest> {
  const absolute = resolve(path);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new CliError(`${path} is not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${(err as Error).message}`);
  }
  const base = pathToFileURL(absolute);
  if (raw && typeof raw === 'object' && Array.isArray((raw as { artifacts?: unknown }).artifacts)) {
    for (const artifact of (raw as { artifacts: { uri?: unknown }[] }).artifacts) {
      if (typeof artifact?.uri === 'string' && artifact.uri.startsWith('file:') && !artifact.uri.startsWith('file://')) {
        artifact.uri = new URL(artifact.uri.slice('file:'.length), base).href;
      }
    }
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
    throw new CliError(`${path} is not a valid manifest:\n${problems}`);
  }
  return parsed.data;
}
