import { compileExpression } from 'filtrex';
import { z } from 'zod';
import { DATATYPES, type InferenceRequest, type Tensor, type TensorMetadata } from '../protocol.js';
import { badRequest } from './errors.js';
import { selectOutputs, type LoadedModel } from './model.js';
import { outputTensor, toColumns, type Value } from './tensors.js';

/**
 * A rules model declared in JSON: the first rule whose condition holds decides, `else` decides otherwise.
 *   {"kind":"rules","rules":[{"if":"debt_to_income > 0.45","then":"decline"},{"else":"approve"}]}
 * Conditions are filtrex expressions over the input fields (`and`, `or`, `not`, comparisons, `in (...)`,
 * arithmetic, `abs`, `min`, `max`, ...), compiled once at load; filtrex never evaluates JavaScript.
 * Optional: `inputs` (field order, for the [N, F] tensor form) and `output` (the output's name, `decision`).
 */
const outcome = z.union([z.string(), z.number().finite(), z.boolean()]);
export const rulesDocumentSchema = z.strictObject({
  kind: z.literal('rules'),
  /** Field order; a field's datatype (FP64 unless named) is only what metadata reports: any value is read. */
  inputs: z
    .array(z.union([z.string().min(1), z.strictObject({ name: z.string().min(1), datatype: z.enum(DATATYPES).default('FP64') })]))
    .min(1)
    .optional(),
  output: z.string().min(1).default('decision'),
  rules: z
    .array(z.union([z.strictObject({ if: z.string().min(1), then: outcome }), z.strictObject({ else: outcome })]))
    .min(1, 'at least one rule is required'),
});
export type RulesDocument = z.output<typeof rulesDocumentSchema>;

interface CompiledRule {
  readonly source: string;
  readonly test: (row: Record<string, Value>) => unknown;
  readonly then: Value;
}

/** Compiled rules: evaluates rows one at a time, stopping at the first rule that holds. */
export class RuleSet {
  private readonly rules: CompiledRule[];
  private readonly fallback: Value;

  constructor(readonly document: RulesDocument) {
    const last = document.rules.at(-1);
    if (!last || !('else' in last)) throw new Error('the last rule must be {"else": ...}: every row needs a decision');
    document.rules.slice(0, -1).forEach((rule, i) => {
      if ('else' in rule) throw new Error(`rules[${i}]: only the last rule may be "else"`);
    });
    const outcomes = document.rules.map((r) => ('else' in r ? r.else : r.then));
    if (new Set(outcomes.map((o) => typeof o)).size > 1) throw new Error('every rule must decide the same type (all strings, all numbers or all booleans)');
    this.rules = document.rules.flatMap((rule, i) => {
      if (!('if' in rule)) return [];
      try {
        return [{ source: rule.if, test: compileExpression(rule.if, { constants: { true: true, false: false } }), then: rule.then }];
      } catch (err) {
        throw new Error(`rules[${i}].if: ${(err as Error).message.split('\n')[0]}`);
      }
    });
    this.fallback = last.else;
  }

  decide(row: Record<string, Value>, rowIndex = 0): Value {
    for (const rule of this.rules) {
      const result = rule.test(row);
      if (result instanceof Error) {
        const missing = (result as { propertyName?: string }).propertyName;
        throw badRequest(missing ? `input ${missing} is missing (rule "${rule.source}" reads it)` : `row ${rowIndex}: rule "${rule.source}": ${result.message}`);
      }
      if (result) return rule.then;
    }
    return this.fallback;
  }
}

export class RulesModel implements LoadedModel {
  readonly platform = 'steward_rules';
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
  private readonly rules: RuleSet;
  private readonly fields: readonly string[] | undefined;
  private readonly outputName: string;

  /** Inputs and the output's name declared in model-settings.json win over the document's own. */
  constructor(document: RulesDocument, declaredInputs?: readonly TensorMetadata[], outputName?: string) {
    this.rules = new RuleSet(document);
    this.inputs =
      declaredInputs ?? (document.inputs ?? []).map((f) => (typeof f === 'string' ? { name: f, datatype: 'FP64', shape: [-1] } : { ...f, shape: [-1] }));
    this.fields = this.inputs.length > 0 ? this.inputs.map((i) => i.name) : undefined;
    this.outputName = outputName ?? document.output;
    const first = document.rules[0];
    const sample = first && 'then' in first ? first.then : first?.else;
    this.outputs = [{ name: this.outputName, datatype: typeof sample === 'string' ? 'BYTES' : typeof sample === 'boolean' ? 'BOOL' : 'FP64', shape: [-1] }];
  }

  infer(request: InferenceRequest): Tensor[] {
    const { rows, columns } = toColumns(request.inputs, this.fields, false);
    const names = [...columns.keys()];
    const values = [...columns.values()];
    const decisions = new Array<Value>(rows);
    for (let i = 0; i < rows; i += 1) {
      const row: Record<string, Value> = {};
      for (let j = 0; j < names.length; j += 1) row[names[j] as string] = (values[j] as readonly Value[])[i] as Value;
      decisions[i] = this.rules.decide(row, i);
    }
    return selectOutputs(request, [outputTensor(this.outputName, decisions)], (name) => badRequest(`output ${name} is not an output of this model (outputs: ${this.outputName})`));
  }

  async release(): Promise<void> {}
}
