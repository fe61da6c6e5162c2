import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { describe, expect, it } from 'vitest';
import { assembleBundle, bundleLifecycle, sealBundle, verifyBundle, type EvidenceBundle } from '../../audit/bundle.js';
import { lineageOf } from '../../audit/lineage.js';
import { canonicalJson } from '../../core/canonical-json.js';

/**
 * Every field of an evidence bundle is covered: derived from the histories and checked against them, or under
 * `digests` and the signature. The bundle is built from recorded histories (a lifecycle with three runs and its
 * retrained child); each field found in it is forged in turn and verify must name it. A field added to the
 * bundle later without coverage makes this test fail.
 */
const fixture = (name: string) => historyFromJSON(JSON.parse(readFileSync(join(process.cwd(), 'test', 'fixtures', 'histories', name), 'utf8')));
const runId = (h: ReturnType<typeof fixture>) => h.events![0]!.workflowExecutionStartedEventAttributes!.originalExecutionRunId!;
const lifecycle = (workflowId: string, files: string[]) =>
  bundleLifecycle(
    workflowId,
    files.map((f) => fixture(f)).map((history) => ({ runId: runId(history), history })),
  );

const keys = generateKeyPairSync('ed25519');
const parent = lifecycle('model-version:recorded-credit@1.0.0', ['approved-retrained.run1.json', 'approved-retrained.run2.json', 'approved-retrained.run3.json']);
const child = lifecycle('model-version:recorded-credit@1.1.0', ['retrained-child.run1.json']);
const bundle = assembleBundle([parent, child], { exportedBy: 'ada', signingKey: keys.privateKey, now: new Date('2026-05-01T10:00:00.000Z') });

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A different value of the same kind: what a forger would write. */
function forge(value: Json): Json {
  if (value === null) return 'model-version:forged@9.9.9';
  if (typeof value === 'boolean') return !value;
  if (typeof value === 'number') return value + 1;
  if (typeof value === 'string') {
    if (!Number.isNaN(Date.parse(value)) && /^\d{4}-/.test(value)) return new Date(Date.parse(value) + 1000).toISOString();
    return value.slice(0, -1) + (value.endsWith('a') ? 'b' : 'a');
  }
  if (Array.isArray(value)) return value.length > 1 ? value.slice(0, -1) : [forge(value[0]!)];
  const [key, inner] = Object.entries(value).find(([, v]) => typeof v === 'string') ?? Object.entries(value)[0]!;
  return { ...value, [key]: forge(inner) };
}

function forged(path: readonly (string | number)[]): unknown {
  const copy = structuredClone(bundle) as unknown as Json;
  let node = copy as Record<string | number, Json>;
  for (const step of path.slice(0, -1)) node = node[step] as Record<string | number, Json>;
  const last = path.at(-1)!;
  node[last] = forge(node[last]!);
  return copy;
}

/** Every field path of the bundle's own structure (not inside histories, manifests or signatures' strings). */
function fieldPaths(): (string | number)[][] {
  const paths: (string | number)[][] = [];
  const walk = (value: Record<string, unknown>, at: (string | number)[], nested: Record<string, string | null>) => {
    for (const key of Object.keys(value)) {
      paths.push([...at, key]);
      const inner = nested[key];
      const child = value[key];
      if (inner !== undefined && Array.isArray(child)) {
        child.forEach((item, i) => walk(item as Record<string, unknown>, [...at, key, i], LEVELS[inner as keyof typeof LEVELS] ?? {}));
      } else if (inner === null && child && typeof child === 'object') {
        walk(child as Record<string, unknown>, [...at, key], {});
      }
    }
  };
  walk(bundle as unknown as Record<string, unknown>, [], LEVELS.bundle);
  return paths;
}
/** Which fields hold further bundle structure: a list of the named level, or (null) an object whose fields count. */
const LEVELS = {
  bundle: { lifecycles: 'lifecycle', chain: 'link', digests: null, signature: null },
  lifecycle: { runs: 'run' },
  run: {},
  link: {},
} as const;

/** The field verify must name: lifecycles and runs are checked field by field; the rest by their top-level digest. */
function expectedName(path: readonly (string | number)[]): string {
  if (path[0] === 'lifecycles' && path.length > 1) return path.join('.');
  if (path[0] === 'digests' && path.length > 1) return `digests.${String(path[1])}`;
  return String(path[0]);
}

describe('evidence bundle coverage', () => {
  it('verifies the untouched bundle with its signing key', () => {
    expect(verifyBundle(bundle, keys.publicKey)).toEqual({ ok: true, format: 2, histories: 4, signedBy: expect.stringMatching(/^sha256:/) });
  });

  it('knows every field of the bundle type: a field added later must be listed (and covered) here', () => {
    const top: Record<keyof EvidenceBundle, true> = { format: true, subject: true, exportedAt: true, exportedBy: true, lifecycles: true, chain: true, digests: true, signature: true };
    const lifecycleKeys: Record<keyof EvidenceBundle['lifecycles'][number], true> = {
      workflowId: true, modelVersionId: true, manifest: true, template: true, templates: true, parentWorkflowId: true, runs: true,
    };
    const runKeys: Record<keyof EvidenceBundle['lifecycles'][number]['runs'][number], true> = { workflowId: true, runId: true, eventDigests: true, digest: true, history: true };
    const linkKeys: Record<keyof EvidenceBundle['chain'][number], true> = { workflowId: true, runId: true, digest: true, link: true };
    expect(Object.keys(bundle).sort()).toEqual(Object.keys(top).sort());
    expect(Object.keys(bundle.lifecycles[0]!).sort()).toEqual(Object.keys(lifecycleKeys).sort());
    expect(Object.keys(bundle.lifecycles[0]!.runs[0]!).sort()).toEqual(Object.keys(runKeys).sort());
    expect(Object.keys(bundle.chain[0]!).sort()).toEqual(Object.keys(linkKeys).sort());
    expect(fieldPaths().length).toBeGreaterThan(40);
  });

  it.each(fieldPaths().map((p) => [p.join('.'), p] as const))('fails naming the field when %s is forged', (_name, path) => {
    const result = verifyBundle(forged(path));
    expect(result.ok).toBe(false);
    const problem = (result as { problem: string }).problem;
    const name = expectedName(path);
    expect(problem, problem).toMatch(new RegExp(`(^|[\\s(])${name.replaceAll('.', '\\.')}([.:\\s)]|$)`));
  });

  it('fails with a bundle re-sealed after forging, signed by another key', () => {
    const mallory = generateKeyPairSync('ed25519');
    const { digests: _d, signature: _s, ...unsigned } = bundle;
    const resealed = sealBundle({ ...unsigned, exportedBy: 'mallory' }, mallory.privateKey);
    expect(verifyBundle(resealed, keys.publicKey)).toEqual({ ok: false, problem: 'signature: does not match the bundle or was not made with the trusted key' });
    // Claims the histories contradict fail whoever signed them.
    const lifecycles = [{ ...parent, modelVersionId: 'recorded-credit@6.6.6' }, child];
    const forgedClaims = sealBundle({ ...unsigned, lifecycles }, mallory.privateKey);
    expect(verifyBundle(forgedClaims)).toMatchObject({ ok: false, problem: expect.stringMatching(/^lifecycles\.0\.modelVersionId: /) });
  });

  it('derives lineage from the histories, not from what the bundle claims', () => {
    const claims = structuredClone(bundle) as unknown as { lifecycles: { modelVersionId: string; templates: string[]; manifest: { owner: string } }[]; subject: string };
    claims.subject = 'forged@6.6.6';
    claims.lifecycles[0]!.modelVersionId = 'forged@6.6.6';
    claims.lifecycles[0]!.templates = ['forged@1'];
    expect(lineageOf(claims as unknown as EvidenceBundle)).toEqual(lineageOf(bundle));
    expect(lineageOf(bundle).versions.map((v) => v.modelVersionId)).toEqual(['recorded-credit@1.0.0', 'recorded-credit@1.1.0']);
  });

  it('refuses unknown formats and fields, naming them', () => {
    expect(verifyBundle({ ...bundle, format: 'steward-evidence-bundle/9' })).toMatchObject({ ok: false, problem: expect.stringMatching(/^format: "steward-evidence-bundle\/9" is not a bundle format/) });
    expect(verifyBundle({ ...bundle, approvedBy: 'mallory' })).toMatchObject({ ok: false, problem: expect.stringMatching(/^approvedBy: /) });
    const extra = structuredClone(bundle) as unknown as { lifecycles: Record<string, unknown>[] };
    extra.lifecycles[1]!.approvedBy = 'mallory';
    expect(verifyBundle(extra)).toMatchObject({ ok: false, problem: expect.stringMatching(/^lifecycles\.1\.approvedBy: /) });
    expect(verifyBundle([])).toEqual({ ok: false, problem: 'the bundle is not a JSON object' });
  });

  it('still verifies a format 1 bundle (exported before digests), and checks its claims against its histories', () => {
    const { digests: _d, signature: _s, ...rest } = bundle;
    const head = bundle.chain.at(-1)!.link;
    const v1Signed = canonicalJson({ format: 'steward-evidence-bundle/1', subject: rest.subject, exportedAt: rest.exportedAt, exportedBy: rest.exportedBy, head });
    const v1 = {
      ...rest,
      format: 'steward-evidence-bundle/1',
      signature: { alg: 'Ed25519', publicKey: bundle.signature!.publicKey, value: sign(null, Buffer.from(v1Signed), keys.privateKey).toString('base64') },
    };
    expect(verifyBundle(v1, keys.publicKey)).toMatchObject({ ok: true, format: 1 });
    const forgedManifest = structuredClone(v1) as unknown as { lifecycles: { manifest: { owner: string } }[] };
    forgedManifest.lifecycles[0]!.manifest.owner = 'mallory';
    expect(verifyBundle(forgedManifest, keys.publicKey)).toMatchObject({ ok: false, problem: expect.stringMatching(/^lifecycles\.0\.manifest: /) });
    expect(verifyBundle({ ...v1, exportedBy: 'mallory' }, keys.publicKey)).toMatchObject({ ok: false, problem: expect.stringMatching(/^signature: /) });
    expect(verifyBundle({ ...v1, digests: bundle.digests })).toMatchObject({ ok: false, problem: expect.stringMatching(/^digests: /) });
  });
});
