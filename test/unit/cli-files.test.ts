import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { steward } from '../harness/cli.js';

/** A missing or malformed file named on the command line is one line naming it and the problem, exit code 1. */
describe.concurrent('the CLI on files it cannot use', () => {
  const dir = join(tmpdir(), `steward-cli-files-${process.pid}-${Date.now()}`);
  beforeAll(async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'bad.json'), '{"format": "steward-evidence-bundle/2",\n  "lifecycles": [');
    await writeFile(join(dir, 'empty.json'), '{}');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const cases = (): [string, string[], RegExp][] => [
    ['verify, missing file', ['audit', 'verify', join(dir, 'missing.json')], /^steward: \S+missing\.json: cannot read it: no such file$/],
    ['verify, not JSON', ['audit', 'verify', join(dir, 'bad.json')], /^steward: \S+bad\.json: is not JSON: .+$/],
    ['verify, not a bundle', ['audit', 'verify', join(dir, 'empty.json')], /^steward: \S+empty\.json: format: missing is not a bundle format .+$/],
    ['verify, missing public key', ['audit', 'verify', join(dir, 'empty.json'), '--public-key', join(dir, 'key.pem')], /^steward: \S+key\.pem: cannot read it: no such file$/],
    ['replay, missing file', ['audit', 'replay', join(dir, 'missing.json')], /^steward: \S+missing\.json: cannot read it: no such file$/],
    ['replay, not JSON', ['audit', 'replay', join(dir, 'bad.json')], /^steward: \S+bad\.json: is not JSON: .+$/],
    ['replay, not a history', ['audit', 'replay', join(dir, 'empty.json')], /^steward: \S+empty\.json is neither a Steward evidence bundle nor a workflow history .+$/],
    ['lineage, not JSON', ['audit', 'lineage', join(dir, 'bad.json')], /^steward: \S+bad\.json: is not JSON: .+$/],
    ['preview, missing file', ['templates', 'preview', join(dir, 'missing.json'), '--template', 'standard'], /^steward: \S+missing\.json: cannot read it: no such file$/],
  ];

  it.each(cases().map(([name, args, expected]) => [name, args, expected] as const))('%s', async (_name, args, expected) => {
    const result = await steward({}, ...args);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.endsWith('\n')).toBe(true);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr.trimEnd()).toMatch(expected);
  }, 60_000);
});
