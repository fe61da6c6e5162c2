import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compare, valid } from '@renovatebot/pep440';
import type { Severity } from '../../core/policy.js';

/**
 * The manifest's declared dependencies (`scikit-learn==1.5.2`): each must be pinned to one exact version, must
 * not be on the deny-list, and must not be a version an advisory names. Advisories are OSV records read from
 * a directory (offline: nothing is fetched at scan time); PyPI versions are PEP 440, not semver, so ranges are
 * compared with a PEP 440 implementation (pre-, post-, dev-releases and epochs order correctly).
 */

export interface DependencyFinding {
  readonly dependency: string;
  readonly severity: Severity;
  readonly code: 'dependency-unpinned' | 'dependency-denied' | 'dependency-advisory' | 'dependency-invalid';
  readonly message: string;
}

/** Known malicious typosquats from PyPI's history; deployments add their own through configuration. */
export const DEFAULT_DEPENDENCY_DENY_LIST: readonly string[] = ['jeIlyfish', 'python3-dateutil', 'colourama'];

/** Names that are not packages, so need no pin. */
const NOT_PACKAGES = new Set(['python']);

/** PEP 503 normalised name: case-insensitive, runs of -_. equal. */
export const normaliseName = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '-');

interface Requirement {
  readonly name: string;
  /** The exact version when pinned with == (no wildcard) or ===, else null. */
  readonly pinned: string | null;
}

/** PEP 508 requirement, the parts that matter here: name, extras, specifiers; markers after `;` are ignored. */
export function parseRequirement(text: string): Requirement | null {
  const m = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*([^;]*)/.exec(text);
  if (!m) return null;
  const spec = m[2]!.trim().replace(/^\(|\)$/g, '');
  const pin = /^===?\s*([^\s,*]+)$/.exec(spec);
  return { name: m[1]!, pinned: pin && !spec.includes('*') ? pin[1]! : null };
}

/** One OSV record, the fields used here (https://ossf.github.io/osv-schema/). */
export interface OsvRecord {
  readonly id: string;
  readonly aliases?: readonly string[];
  readonly summary?: string;
  readonly database_specific?: { readonly severity?: string };
  readonly affected?: readonly {
    readonly package?: { readonly ecosystem?: string; readonly name?: string };
    readonly versions?: readonly string[];
    readonly ranges?: readonly { readonly type: string; readonly events: readonly Record<string, string>[] }[];
  }[];
}

export type AdvisoryIndex = ReadonlyMap<string, readonly OsvRecord[]>;

/** Reads every *.json OSV record in `dir` (one record per file, or an array), indexed by normalised PyPI name. */
export async function loadAdvisories(dir: string | null): Promise<AdvisoryIndex> {
  const index = new Map<string, OsvRecord[]>();
  if (!dir) return index;
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.json')).sort()) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(join(dir, file), 'utf8'));
    } catch (err) {
      throw new Error(`advisory file ${join(dir, file)} is not JSON: ${(err as Error).message}`);
    }
    for (const record of (Array.isArray(parsed) ? parsed : [parsed]) as OsvRecord[]) {
      if (typeof record?.id !== 'string') throw new Error(`advisory file ${join(dir, file)} holds a record without an "id"`);
      for (const a of record.affected ?? []) {
        if (a.package?.ecosystem !== 'PyPI' || !a.package.name) continue;
        const key = normaliseName(a.package.name);
        index.set(key, [...(index.get(key) ?? []), record]);
      }
    }
  }
  return index;
}

/**
 * OSV's ECOSYSTEM range: events in version order; `introduced` starts an affected span, `fixed` ends it
 * before that version, `last_affected` after it. A version listed in `versions` is affected too.
 */
export function affects(record: OsvRecord, name: string, version: string): boolean {
  for (const a of record.affected ?? []) {
    if (a.package?.ecosystem !== 'PyPI' || normaliseName(a.package.name ?? '') !== normaliseName(name)) continue;
    if (a.versions?.some((v) => valid(v) && compare(v, version) === 0)) return true;
    for (const range of a.ranges ?? []) {
      if (range.type !== 'ECOSYSTEM') continue;
      const events = range.events
        .map((e) => Object.entries(e)[0]!)
        .filter(([, v]) => v === '0' || valid(v))
        .sort(([, x], [, y]) => (x === '0' ? -1 : y === '0' ? 1 : compare(x, y)));
      let affected = false;
      for (const [kind, at] of events) {
        const cmp = at === '0' ? 1 : compare(version, at);
        if (kind === 'introduced' && cmp >= 0) affected = true;
        else if (kind === 'fixed' && cmp >= 0) affected = false;
        else if (kind === 'last_affected' && cmp > 0) affected = false;
      }
      if (affected) return true;
    }
  }
  return false;
}

const OSV_SEVERITY: Record<string, Severity> = { LOW: 'low', MODERATE: 'medium', MEDIUM: 'medium', HIGH: 'high', CRITICAL: 'critical' };

export function checkDependencies(dependencies: readonly string[], denyList: readonly string[], advisories: AdvisoryIndex): DependencyFinding[] {
  const denied = new Set(denyList.map(normaliseName));
  const findings: DependencyFinding[] = [];
  for (const dependency of dependencies) {
    const req = parseRequirement(dependency);
    if (!req) {
      findings.push({ dependency, severity: 'high', code: 'dependency-invalid', message: `dependency "${dependency}" is not a requirement such as name==1.2.3` });
      continue;
    }
    const name = normaliseName(req.name);
    if (denied.has(name)) {
      findings.push({ dependency, severity: 'critical', code: 'dependency-denied', message: `dependency "${req.name}" is on the deny-list` });
      continue;
    }
    if (NOT_PACKAGES.has(name)) continue;
    if (!req.pinned || !valid(req.pinned)) {
      findings.push({ dependency, severity: 'high', code: 'dependency-unpinned', message: `dependency "${dependency}" must pin one exact version with == (e.g. ${req.name}==1.2.3)` });
      continue;
    }
    for (const record of advisories.get(name) ?? []) {
      if (!affects(record, req.name, req.pinned)) continue;
      const severity = OSV_SEVERITY[record.database_specific?.severity?.toUpperCase() ?? ''] ?? 'high';
      const aliases = record.aliases?.length ? ` (${record.aliases.join(', ')})` : '';
      findings.push({
        dependency,
        severity,
        code: 'dependency-advisory',
        message: `${req.name} ${req.pinned} is affected by ${record.id}${aliases}${record.summary ? `: ${record.summary}` : ''}`,
      });
    }
  }
  return findings;
}
