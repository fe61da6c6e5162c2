import { describe, expect, it } from 'vitest';
import { bumpVersion, lifecycleWorkflowId, parseModelVersionId } from '../../core/model-id.js';

describe('model version ids', () => {
  it('derives the same workflow id from the same name and version', () => {
    expect(lifecycleWorkflowId({ name: 'fraud', version: '1.2.0' })).toBe('model-version:fraud@1.2.0');
  });

  it('parses name@version, including pre-release versions and names with @-free punctuation', () => {
    expect(parseModelVersionId('fraud.v2_eu@1.2.0-rc.1')).toEqual({ ok: true, value: { name: 'fraud.v2_eu', version: '1.2.0-rc.1' } });
  });

  it.each([
    ['fraud', 'expected "<name>@<semver>"'],
    ['@1.0.0', 'expected "<name>@<semver>"'],
    ['Fraud@1.0.0', 'model name "Fraud"'],
    ['fraud@1.0', 'version "1.0" is not semver'],
    ['fraud@01.0.0', 'version "01.0.0" is not semver'],
  ])('rejects %s naming the problem', (id, problem) => {
    const parsed = parseModelVersionId(id);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toContain(problem);
  });

  it.each([
    ['1.2.3', 'major', '2.0.0'],
    ['1.2.3', 'minor', '1.3.0'],
    ['1.2.3', 'patch', '1.2.4'],
    ['1.2.3-rc.1+build.5', 'patch', '1.2.4'],
  ] as const)('bumps %s by %s to %s', (from, bump, to) => {
    expect(bumpVersion(from, bump)).toBe(to);
  });
});
