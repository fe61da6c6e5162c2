import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { BUILTIN_IMPLEMENTATIONS } from '../runtime.js';
import { LinearModel, linearDocumentSchema } from './linear.js';
import type { LoadedModel } from './model.js';
import { OnnxModel } from './onnx.js';
import { RulesModel, rulesDocumentSchema } from './rules.js';
import type { ModelSettings } from './settings.js';

/** Builds the model a model-settings.json describes; throws with a sentence naming the problem. */
export async function instantiate(settings: ModelSettings): Promise<LoadedModel> {
  const artifact = settings.artifact;
  if (artifact === undefined) throw new Error('parameters.uri is required: it names the model file');
  switch (settings.implementation) {
    case BUILTIN_IMPLEMENTATIONS.onnx:
      return OnnxModel.load(artifact, settings.inputs);
    case BUILTIN_IMPLEMENTATIONS.linear:
      return new LinearModel(await readDocument(artifact, linearDocumentSchema));
    case BUILTIN_IMPLEMENTATIONS.rules:
      return new RulesModel(await readDocument(artifact, rulesDocumentSchema), settings.inputs, settings.outputs?.[0]?.name);
    default:
      throw new Error(`implementation ${settings.implementation} is not one of ${Object.values(BUILTIN_IMPLEMENTATIONS).join(', ')}`);
  }
}

async function readDocument<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S>> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  }
  return parsed.data;
}
