import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The determinism rules are only worth something if they fire. These probes lint source text as if it sat in
 * workflows/ (or activities/), using the project's real ESLint configuration.
 */
const eslint = new ESLint({ cwd: process.cwd() });

async function ruleIds(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
}

describe('lint rules for deterministic workflow code', () => {
  // The first typed lint starts a TypeScript project service, which takes seconds on a cold machine.
  beforeAll(() => ruleIds('export {};', 'workflows/lint-probe.ts'), 60_000);

  it.each([
    ["import { readFileSync } from 'node:fs';\nexport const x = readFileSync;", 'no-restricted-imports'],
    ["import { randomUUID } from 'crypto';\nexport const x = randomUUID;", 'no-restricted-imports'],
    ["import pg from 'pg';\nexport const x = pg;", 'no-restricted-imports'],
    ["import { Client } from '@temporalio/client';\nexport const x = Client;", 'no-restricted-imports'],
    ["import { catalogActivities } from '../activities/catalog.js';\nexport const x = catalogActivities;", 'no-restricted-imports'],
    ["import { z } from 'zod';\nexport const x = z.string();", 'no-restricted-imports'],
    ["import * as z from 'zod/mini';\nexport const x = z.string();", 'no-restricted-imports'],
    ['export const home = process.env.HOME;', 'no-restricted-globals'],
    ["export const get = () => fetch('http://example.invalid');", 'no-restricted-globals'],
  ])('rejects %s in workflows/', async (code, rule) => {
    expect(await ruleIds(code, 'workflows/lint-probe.ts')).toContain(rule);
  });

  it('lets workflows/dsl/zod.ts, the copy the sandbox shares, import zod', async () => {
    expect(await ruleIds("import * as z from 'zod/mini';\nexport const x = z.string();", 'workflows/dsl/zod.ts')).toEqual([]);
  });

  it('allows type-only imports from activities in workflows/', async () => {
    const code = "import type { LifecycleActivities } from '../activities/index.js';\nexport type A = LifecycleActivities;";
    expect(await ruleIds(code, 'workflows/lint-probe.ts')).toEqual([]);
  });

  it('allows Node built-ins in activities/', async () => {
    const code = "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;";
    expect(await ruleIds(code, 'activities/lint-probe.ts')).toEqual([]);
  });

  it('makes a floating promise an error everywhere', async () => {
    const code = 'async function work(): Promise<void> {}\nexport function go(): void {\n  work();\n}';
    expect(await ruleIds(code, 'activities/lint-probe.ts')).toContain('@typescript-eslint/no-floating-promises');
  });
});
