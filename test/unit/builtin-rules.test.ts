import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RuntimeError } from '../../runtimes/builtin/errors.js';
import { RuleSet, RulesModel, rulesDocumentSchema } from '../../runtimes/builtin/rules.js';

const example = rulesDocumentSchema.parse(JSON.parse(readFileSync('examples/credit-model/model.json', 'utf8')));
const rules = (json: unknown) => new RuleSet(rulesDocumentSchema.parse(json));

describe('built-in runtime: rules models', () => {
  it('the example credit-decision rules decline above 45% debt-to-income and approve otherwise', () => {
    const set = new RuleSet(example);
    expect(set.decide({ debt_to_income: 0.46, income: 1 })).toBe('decline');
    expect(set.decide({ debt_to_income: 0.45 })).toBe('approve');
    expect(set.decide({ debt_to_income: 0.1 })).toBe('approve');
  });

  it('the first rule that holds decides; conditions combine fields, strings, sets and arithmetic', () => {
    const set = rules({
      kind: 'rules',
      rules: [
        { if: 'age_band == "18-25" and income < 20000', then: 'refer' },
        { if: 'debt_to_income * 100 > 45 or late_payments >= 3', then: 'decline' },
        { if: 'age_band in ("65+", "41-65")', then: 'approve-senior' },
        { else: 'approve' },
      ],
    });
    expect(set.decide({ age_band: '18-25', income: 10_000, debt_to_income: 0.9, late_payments: 0 })).toBe('refer');
    expect(set.decide({ age_band: '26-40', income: 10_000, debt_to_income: 0.5, late_payments: 0 })).toBe('decline');
    expect(set.decide({ age_band: '26-40', income: 50_000, debt_to_income: 0.1, late_payments: 4 })).toBe('decline');
    expect(set.decide({ age_band: '65+', income: 50_000, debt_to_income: 0.1, late_payments: 0 })).toBe('approve-senior');
    expect(set.decide({ age_band: '26-40', income: 50_000, debt_to_income: 0.1, late_payments: 0 })).toBe('approve');
  });

  it('expressions cannot reach JavaScript: no prototype, no constructor, no eval', () => {
    const set = rules({ kind: 'rules', rules: [{ if: 'constructor', then: 'x' }, { else: 'y' }] });
    expect(() => set.decide({})).toThrow(RuntimeError);
    expect(() => rules({ kind: 'rules', rules: [{ if: 'process.exit(1)', then: 'x' }, { else: 'y' }] }).decide({ process: 1 })).toThrow();
  });

  it('a missing field is a 400 naming it and the rule that reads it', () => {
    const err = (() => {
      try {
        new RuleSet(example).decide({ income: 1 });
      } catch (e) {
        return e as RuntimeError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err?.statusCode).toBe(400);
    expect(err?.message).toBe('input debt_to_income is missing (rule "debt_to_income > 0.45" reads it)');
  });

  it('refuses at load: no else, else before the end, a syntax error, mixed outcome types', () => {
    expect(() => rules({ kind: 'rules', rules: [{ if: 'a > 1', then: 'x' }] })).toThrow('the last rule must be {"else": ...}');
    expect(() => rules({ kind: 'rules', rules: [{ else: 'x' }, { else: 'y' }] })).toThrow('rules[0]: only the last rule may be "else"');
    expect(() => rules({ kind: 'rules', rules: [{ if: 'a >', then: 'x' }, { else: 'y' }] })).toThrow(/^rules\[0\]\.if: /);
    expect(() => rules({ kind: 'rules', rules: [{ if: 'a > 1', then: 1 }, { else: 'y' }] })).toThrow('same type');
  });

  it('scores a batch and names its output after the declared output field', () => {
    const model = new RulesModel(example, [{ name: 'income', datatype: 'FP64', shape: [-1] }, { name: 'debt_to_income', datatype: 'FP64', shape: [-1] }], 'outcome');
    const outputs = model.infer({ inputs: [{ name: 'm', shape: [2, 2], datatype: 'FP64', data: [[1, 0.5], [1, 0.2]] }] });
    expect(outputs).toEqual([{ name: 'outcome', datatype: 'BYTES', shape: [2], data: ['decline', 'approve'] }]);
    expect(model.outputs).toEqual([{ name: 'outcome', datatype: 'BYTES', shape: [-1] }]);
  });
});
