import type { ModelManifest } from '../../core/manifest.js';
import { TEMPLATE_REF_PATTERN } from '../../core/names.js';
import type { LifecyclePlan } from './plan.js';
import { TemplateError, type Template, type TemplateContext } from './template.js';


export class UnknownTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownTemplateError';
  }
}

/**
 * Every template this build of Steward knows, keyed by `name@version`. Construction is cheap, because the
 * workflow sandbox builds it for every lifecycle it runs; `check` is the load-time validation that the
 * worker, the API and the template tests run once.
 */
export class TemplateRegistry {
  private readonly byRef = new Map<string, Template>();

  constructor(templates: readonly Template[]) {
    for (const template of templates) {
      if (this.byRef.has(template.ref)) throw new TemplateError(template.ref, null, 'is defined twice');
      this.byRef.set(template.ref, template);
    }
    for (const template of templates) {
      for (const from of template.migrateFrom ?? []) {
        if (!this.byRef.has(from)) throw new TemplateError(template.ref, null, `migrateFrom names ${from}, which is not a known template`);
        if (from === template.ref) throw new TemplateError(template.ref, null, 'cannot migrate from itself');
      }
    }
  }

  /**
   * Plans every template for `probes` (sample manifests of every risk tier and kind, see probes.ts) with and
   * without patches, so a wrong option fails at load, naming the template, stage and option, even in a branch
   * few models reach. Kept out of the workflow bundle, which only ever plans the one manifest it runs.
   */
  check(probes: readonly ModelManifest[]): this {
    for (const template of this.byRef.values()) template.check(probes);
    return this;
  }

  list(): Template[] {
    return [...this.byRef.values()].sort((a, b) => a.name.localeCompare(b.name) || a.version - b.version);
  }

  /** `name` → its newest version; `name@version` → exactly that one. */
  resolve(reference: string): Template {
    const match = TEMPLATE_REF_PATTERN.exec(reference);
    if (!match) throw new UnknownTemplateError(`"${reference}" is not a template reference (name or name@version)`);
    const [, name, version] = match;
    const candidates = this.list().filter((t) => t.name === name);
    const found = version === undefined ? candidates.at(-1) : candidates.find((t) => t.version === Number(version));
    if (!found) {
      const known = candidates.length ? candidates.map((t) => t.ref) : this.list().map((t) => t.ref);
      throw new UnknownTemplateError(`no template ${reference} (known: ${known.join(', ')})`);
    }
    return found;
  }

  plan(ref: string, manifest: ModelManifest, context?: TemplateContext): LifecyclePlan {
    return this.resolve(ref).plan(manifest, context);
  }

  /** The template a lifecycle on `ref` moves to at its next continue-as-new, if one declares the migration. */
  migrationFrom(ref: string): Template | null {
    const targets = this.list().filter((t) => t.migrateFrom?.includes(ref));
    return targets.at(-1) ?? null;
  }
}
