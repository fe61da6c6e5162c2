import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Template } from '../workflows/dsl/index.js';

/**
 * Released template versions are immutable. templates/lock.json holds the SHA-256 of each version's file
 * (`templates/<name>/v<version>.ts`); a changed file fails the template test, and `npm run templates:lock`
 * adds new versions but refuses to rewrite a released one.
 */
export const LOCK_FILE = join('templates', 'lock.json');

export type TemplateLock = Record<string, { readonly file: string; readonly sha256: string }>;

export const templateFile = (t: Pick<Template, 'name' | 'version'>) => join('templates', t.name, `v${t.version}.ts`);

const digestOf = (root: string, file: string) => createHash('sha256').update(readFileSync(join(root, file))).digest('hex');

export function readLock(root: string): TemplateLock {
  return JSON.parse(readFileSync(join(root, LOCK_FILE), 'utf8')) as TemplateLock;
}

/** Every problem with the lock: released files that changed, and registered versions not yet locked. */
export function lockProblems(root: string, templates: readonly Template[], lock: TemplateLock = readLock(root)): string[] {
  const problems: string[] = [];
  for (const [ref, entry] of Object.entries(lock)) {
    let actual: string;
    try {
      actual = digestOf(root, entry.file);
    } catch {
      problems.push(`${ref}: released as ${entry.file}, which no longer exists; released versions stay`);
      continue;
    }
    if (actual !== entry.sha256) {
      problems.push(`${ref}: ${entry.file} changed after release; put the change in a new version (v${Number(ref.split('@')[1]) + 1}) instead`);
    }
  }
  for (const t of templates) if (!lock[t.ref]) problems.push(`${t.ref}: not in ${LOCK_FILE}; run npm run templates:lock`);
  return problems;
}

/** Adds unreleased versions to the lock; never touches a released entry. Returns the refs it added. */
export function lockNewVersions(root: string, templates: readonly Template[]): string[] {
  const lock = readLockOrEmpty(root);
  const added = templates.filter((t) => !lock[t.ref]);
  for (const t of added) lock[t.ref] = { file: templateFile(t), sha256: digestOf(root, templateFile(t)) };
  const sorted = Object.fromEntries(Object.entries(lock).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(join(root, LOCK_FILE), `${JSON.stringify(sorted, null, 2)}\n`);
  return added.map((t) => t.ref);
}

function readLockOrEmpty(root: string): Record<string, TemplateLock[string]> {
  try {
    return { ...readLock(root) };
  } catch {
    return {};
  }
}
