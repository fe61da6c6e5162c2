import fc from 'fast-check';
import { BAD_CURSORS, BAD_DATES, HOSTILE_SEGMENTS, hostileStrings, hostileUris, randomBase64 } from './hostile.js';
import { valueFor, type Route } from './openapi.js';

/**
 * Generated requests. A request is a small recipe (method, raw path, who calls, headers, a body recipe) so a
 * failing one prints in a few lines; the megabyte bodies and thousand-level nestings are built only when
 * sent (`renderBody`).
 */

export const ROLES = ['engineer', 'approver:risk', 'auditor', 'admin'] as const;
export type RoleName = (typeof ROLES)[number];

/** Who calls: a role's real token, no token, an unknown token, or an Authorization header that is not one. */
export type Caller = { kind: 'role'; role: RoleName } | { kind: 'none' } | { kind: 'bad'; header: string };

export type BodyRecipe =
  | { kind: 'json'; value: unknown }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; base64: string }
  | { kind: 'deep-json'; depth: number; open: '[' | '{"a":' }
  | { kind: 'deep-yaml'; depth: number; style: 'block-seq' | 'block-map' | 'flow' }
  | { kind: 'yaml-aliases'; levels: number }
  | { kind: 'huge'; bytes: number; shape: 'json-string' | 'json-array' | 'yaml' | 'raw'; chunked: boolean };

export interface FuzzRequest {
  readonly route: string;
  readonly method: string;
  /** Raw request target, percent-encoded exactly as sent (`..` and `%2F` included). */
  readonly path: string;
  readonly caller: Caller;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: BodyRecipe;
  /** A well-formed request that should succeed (or conflict); its effects are expected. */
  readonly wellFormed?: boolean;
}

/** What the generator needs to know about the running stack. */
export interface FuzzContext {
  readonly apiPort: number;
  /** Model versions whose lifecycles exist (registered before the run), as `name@version`. */
  readonly existingIds: readonly string[];
  /** A manifest that registers (the name is replaced per request), with a real artifact behind it. */
  readonly validManifest: Record<string, unknown>;
  /** A valid manifest as YAML text with `{{name}}` for the name. */
  readonly validManifestYaml: string;
}

const LIMIT = 1024 * 1024;

/** Percent-encodes every byte outside the unreserved set; lone surrogates become the bytes of U+FFFD. */
export function pct(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((b) => (/[A-Za-z0-9\-._~@]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

/** A header value as the bytes of its UTF-8 (HTTP carries octets; Node sends latin1 strings byte for byte). */
const headerValue = (text: string) =>
  Buffer.from([...text].filter((c) => c === '\t' || (c >= ' ' && c !== '\u007F')).join(''), 'utf8').toString('latin1');

export function requestArbitrary(routes: readonly Route[], ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const strings = hostileStrings(ctx.apiPort);
  const hostileString = fc.oneof(fc.constantFrom(...strings), fc.string({ unit: 'binary', maxLength: 40 }), randomBase64);
  const hostileLeaf: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 6, arbitrary: hostileString },
    { weight: 1, arbitrary: fc.constantFrom(null, true, -1, 0, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 1.5, [], {}, [[]], { $gt: '' }) },
  );

  const caller: fc.Arbitrary<Caller> = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...ROLES).map((role): Caller => ({ kind: 'role', role })) },
    { weight: 1, arbitrary: fc.constant<Caller>({ kind: 'none' }) },
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          randomBase64.map((t) => `Bearer stw_${t}`),
          fc.constantFrom('Bearer', 'Bearer ', 'bearer stw_x', 'Basic YWRtaW46YWRtaW4=', 'Bearer null', 'Bearer undefined', "Bearer ' OR '1'='1", `Bearer ${'a'.repeat(8000)}`),
          fc.constantFrom(...strings).map((s) => `Bearer ${s}`),
          // A JWT-shaped token: alg none, and a signature that is not one.
          fc.constant('Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhZG1pbiIsInJvbGVzIjpbImFkbWluIl19.'),
        )
        .map((header): Caller => ({ kind: 'bad', header: headerValue(header) })),
    },
  );

  const existing = ctx.existingIds.length ? fc.constantFrom(...ctx.existingIds) : fc.constant('absent@1.0.0');
  const segmentFor = (name: string, schemaPattern?: string): fc.Arbitrary<string> => {
    const valid =
      name === 'digest'
        ? fc.stringMatching(/^[a-f0-9]{64}$/)
        : name === 'id' && schemaPattern?.includes('[0-9a-fA-F]{8}')
          ? fc.uuid()
          : name === 'id' && !schemaPattern
            ? fc.oneof(existing.map(pct), fc.integer({ min: -5, max: 50 }).map(String), fc.constantFrom('absent@1.0.0', 'absent', '1.0.0'))
            : fc.oneof(existing.map(pct), existing.map((id) => pct(id.split('@')[0]!)), fc.constant('absent@1.0.0'));
    return fc.oneof(
      { weight: 4, arbitrary: valid },
      { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS) },
      { weight: 2, arbitrary: fc.constantFrom(...strings).map((s) => pct(s.slice(0, 300))) },
    );
  };

  const queryValue = (schema: Record<string, unknown>, name: string): fc.Arbitrary<string> =>
    fc.oneof(
      { weight: 3, arbitrary: valueFor(schema, hostileString).map((v) => (typeof v === 'string' ? v : JSON.stringify(v) ?? '')) },
      { weight: name === 'cursor' ? 6 : 1, arbitrary: fc.oneof(fc.constantFrom(...BAD_CURSORS), randomBase64) },
      { weight: name === 'at' ? 6 : 1, arbitrary: fc.constantFrom(...BAD_DATES) },
      { weight: 3, arbitrary: hostileString },
    );

  const queryFor = (route: Route): fc.Arbitrary<string> => {
    const declared = route.queryParams.map((p) =>
      fc.option(
        fc.tuple(fc.constant(p.name), queryValue(p.schema, p.name), fc.integer({ min: 1, max: 3 })).map(([k, v, times]) =>
          Array.from({ length: times === 3 ? 2 : 1 }, () => `${k}=${pct(v)}`).join('&'),
        ),
        { freq: 2 },
      ),
    );
    const extra = fc.option(
      fc.oneof(
        fc.constantFrom('__proto__[admin]=1', 'constructor[prototype][x]=1', 'a[]=1&a[]=2', 'colour=blue', '=', '&&&', 'x=%', 'x=%E0%A4%A', 'x=%00'),
        fc.tuple(hostileString, hostileString).map(([k, v]) => `${pct(k.slice(0, 50))}=${pct(v)}`),
      ),
      { freq: 4 },
    );
    return fc.tuple(fc.tuple(...declared), extra).map(([parts, more]) => {
      const all = [...parts, more].filter((p): p is string => Boolean(p));
      return all.length ? `?${all.join('&')}` : '';
    });
  };

  const deepBodies: fc.Arbitrary<{ body: BodyRecipe; type: string }> = fc.oneof(
    fc.record({ depth: fc.integer({ min: 500, max: 20_000 }), open: fc.constantFrom<'[' | '{"a":'>('[', '{"a":') }).map(({ depth, open }) => ({
      body: { kind: 'deep-json', depth, open } as BodyRecipe,
      type: 'application/json',
    })),
    fc
      .record({
        depth: fc.integer({ min: 1000, max: 10_000 }),
        style: fc.constantFrom<'block-seq' | 'block-map' | 'flow'>('block-seq', 'block-map', 'flow'),
        type: fc.constantFrom('application/yaml', 'application/x-yaml', 'text/yaml'),
      })
      .map(({ depth, style, type }) => ({ body: { kind: 'deep-yaml', depth, style } as BodyRecipe, type })),
    fc.record({ levels: fc.integer({ min: 5, max: 12 }), type: fc.constantFrom('application/yaml', 'text/yaml') }).map(({ levels, type }) => ({
      body: { kind: 'yaml-aliases', levels } as BodyRecipe,
      type,
    })),
  );

  const hugeBodies = fc
    .record({
      bytes: fc.integer({ min: LIMIT + 1, max: 3 * LIMIT }),
      shape: fc.constantFrom<'json-string' | 'json-array' | 'yaml' | 'raw'>('json-string', 'json-array', 'yaml', 'raw'),
      chunked: fc.boolean(),
      type: fc.constantFrom('application/json', 'application/yaml', 'text/plain', 'application/octet-stream'),
    })
    .map(({ bytes, shape, chunked, type }) => ({ body: { kind: 'huge', bytes, shape, chunked } as BodyRecipe, type }));

  const wrongTypes = fc.constantFrom(
    'text/plain',
    'application/xml',
    'multipart/form-data',
    'multipart/form-data; boundary=x',
    'application/x-www-form-urlencoded',
    'application/json; charset=utf-16',
    'application/json; charset=latin1',
    'application/javascript',
    'application/jsonx',
    'application/json, text/yaml',
    '*/*',
    'garbage',
    ';;;',
    'application/yaml; charset=utf-8',
  );

  const malformedJson = fc.constantFrom(
    '{',
    '{"a":',
    '[1,2,',
    '{"name": NaN}',
    '{"a":1,}',
    "{'a':1}",
    '\uFEFF{}',
    '{"a":"\\ud800"}',
    '{"a":"\\u0000"}',
    '{"__proto__":{"admin":true}}',
    '{"constructor":{"prototype":{"admin":true}}}',
    '1e999999',
    '-',
    '"',
    'null',
    'true',
    '[]',
    '',
    ' ',
    '{"a":1}{"b":2}',
  );

  const bodyFor = (route: Route): fc.Arbitrary<{ body: BodyRecipe; type: string } | undefined> => {
    const jsonType = route.body?.contentTypes[0] ?? 'application/json';
    const schemaBody = route.body
      ? valueFor(route.body.schema, hostileLeaf).map((value) => ({ body: { kind: 'json', value } as BodyRecipe, type: jsonType }))
      : fc.anything({ maxDepth: 2 }).map((value) => ({ body: { kind: 'json', value } as BodyRecipe, type: 'application/json' }));
    const manifestMutants =
      route.method === 'POST' && route.path === '/models'
        ? fc
            .tuple(
              fc.constantFrom('artifacts.0.uri', 'trainingData.0.uri', 'referenceDataset.uri', 'name', 'owner', 'description', 'team', 'framework', 'tags.0', 'metrics.auc', 'version'),
              fc.oneof(fc.constantFrom(...hostileUris(ctx.apiPort)), hostileLeaf),
              fc.stringMatching(/^[a-z0-9]{6}$/),
            )
            .map(([path, value, suffix]) => {
              const manifest = structuredClone(ctx.validManifest);
              manifest.name = `fz-${suffix}`;
              setPath(manifest, path, value);
              return { body: { kind: 'json', value: manifest } as BodyRecipe, type: 'application/json' };
            })
        : schemaBody;
    const raw = fc.oneof(
      malformedJson.map((text) => ({ body: { kind: 'text', text } as BodyRecipe, type: 'application/json' })),
      fc.tuple(wrongTypes, fc.oneof(malformedJson, fc.constantFrom(...strings))).map(([type, text]) => ({ body: { kind: 'text', text } as BodyRecipe, type })),
      fc.uint8Array({ maxLength: 200 }).map((b) => ({ body: { kind: 'bytes', base64: Buffer.from(b).toString('base64') } as BodyRecipe, type: 'application/json' })),
    );
    // Megabyte bodies cost the most to send, so they are the rarest (about 2 in 100 requests).
    return fc.oneof(
      { weight: route.body ? 0 : 20, arbitrary: fc.constant(undefined) },
      { weight: 16, arbitrary: schemaBody },
      { weight: route.path === '/models' && route.method === 'POST' ? 16 : 0, arbitrary: manifestMutants },
      { weight: 8, arbitrary: raw },
      { weight: 4, arbitrary: deepBodies },
      { weight: 1, arbitrary: hugeBodies },
    );
  };

  const perRoute = routes.map((route) =>
    fc
      .record({
        caller,
        segments: fc.tuple(...route.pathParams.map((p) => segmentFor(p.name, p.schema.pattern as string | undefined))),
        query: queryFor(route),
        body: bodyFor(route),
        method: fc.oneof({ weight: 12, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS') }),
        idempotencyKey: route.headerParams.some((h) => h.name === 'idempotency-key') ? fc.option(fc.oneof(fc.uuid(), hostileString), { freq: 2 }) : fc.constant(null),
      })
      .map(({ caller, segments, query, body, method, idempotencyKey }): FuzzRequest => {
        let i = 0;
        const path = route.path.replace(/\{[^}]+\}/g, () => segments[i++] ?? '');
        const headers: Record<string, string> = {};
        if (body) headers['content-type'] = body.type;
        if (idempotencyKey !== null) headers['idempotency-key'] = headerValue(idempotencyKey);
        return { route: `${route.method} ${route.path}`, method, path: `${path}${query}`, caller, headers, ...(body ? { body: body.body } : {}) };
      }),
  );

  // Paths no route has, with the bodies that crashed the process before a route was even matched.
  const unknown = fc
    .record({
      path: fc.oneof(fc.constantFrom('/', '/admin', '/models/', '//models', '/models/x/y/z', '/.env', '/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/openapi.json/..', '/health/../models'), fc.constantFrom(...HOSTILE_SEGMENTS).map((s) => `/${s}`)),
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
      caller,
      body: fc.option(fc.oneof(deepBodies, hugeBodies), { freq: 2 }),
    })
    .map(({ path, method, caller, body }): FuzzRequest => ({
      route: '(no route)',
      method,
      path,
      caller,
      headers: body ? { 'content-type': body.type } : {},
      ...(body ? { body: body.body } : {}),
    }));

  return fc.oneof({ weight: 10 * routes.length, arbitrary: fc.oneof(...perRoute) }, { weight: Math.max(1, routes.length), arbitrary: unknown });
}

/** Requests that must succeed: the success paths, so the fuzzer also runs through handlers that do work. */
export function wellFormedRequests(ctx: FuzzContext, runTag: string, n: number): FuzzRequest[] {
  const id = ctx.existingIds[n % ctx.existingIds.length]!;
  const name = `ok-${runTag}-${n}`;
  const role = (r: RoleName): Caller => ({ kind: 'role', role: r });
  const json = { 'content-type': 'application/json' };
  return [
    { route: 'POST /models', method: 'POST', path: '/models', caller: role('engineer'), headers: json, body: { kind: 'json', value: { ...ctx.validManifest, name } }, wellFormed: true },
    {
      route: 'POST /models',
      method: 'POST',
      path: '/models',
      caller: role('engineer'),
      headers: { 'content-type': 'application/yaml' },
      body: { kind: 'text', text: ctx.validManifestYaml.replace('{{name}}', `${name}-yaml`) },
      wellFormed: true,
    },
    { route: 'GET /models', method: 'GET', path: `/models?q=${pct(id.split('@')[0]!)}&limit=2`, caller: role('auditor'), headers: {}, wellFormed: true },
    { route: 'GET /models/{ref}', method: 'GET', path: `/models/${pct(id)}`, caller: role('approver:risk'), headers: {}, wellFormed: true },
    { route: 'GET /approvals', method: 'GET', path: '/approvals', caller: role('approver:risk'), headers: {}, wellFormed: true },
    { route: 'GET /production', method: 'GET', path: `/production?at=${pct(new Date().toISOString())}`, caller: role('auditor'), headers: {}, wellFormed: true },
    { route: 'GET /audit/models/{id}/export', method: 'GET', path: `/audit/models/${pct(id)}/export`, caller: role('auditor'), headers: {}, wellFormed: true },
    { route: 'GET /events', method: 'GET', path: '/events?limit=5', caller: role('engineer'), headers: {}, wellFormed: true },
  ];
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const steps = path.split('.');
  let node: unknown = target;
  for (const step of steps.slice(0, -1)) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[step] : undefined;
  if (node && typeof node === 'object') (node as Record<string, unknown>)[steps.at(-1)!] = value;
}

/** The bytes of a body recipe. */
export function renderBody(body: BodyRecipe): Buffer {
  switch (body.kind) {
    case 'json':
      return Buffer.from(JSON.stringify(body.value) ?? 'null', 'utf8');
    case 'text':
      return Buffer.from(body.text, 'utf8');
    case 'bytes':
      return Buffer.from(body.base64, 'base64');
    case 'deep-json': {
      const close = body.open === '[' ? ']' : '}';
      return Buffer.from(`${body.open.repeat(body.depth)}1${close.repeat(body.depth)}`);
    }
    case 'deep-yaml':
      if (body.style === 'block-seq') return Buffer.from(`${'- '.repeat(body.depth)}x\n`);
      if (body.style === 'flow') return Buffer.from(`${'['.repeat(body.depth)}x${']'.repeat(body.depth)}\n`);
      return Buffer.from(Array.from({ length: body.depth }, (_, i) => `${' '.repeat(i)}a:`).join('\n') + ' x\n');
    case 'yaml-aliases': {
      // The billion laughs: each level refers to the previous one ten times.
      const lines = ['a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
      for (let i = 1; i <= body.levels; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
      return Buffer.from(`${lines.join('\n')}\n`);
    }
    case 'huge': {
      const n = body.bytes;
      if (body.shape === 'json-string') return Buffer.from(`{"description":"${'x'.repeat(n)}"}`);
      if (body.shape === 'json-array') return Buffer.from(`[${'1,'.repeat(Math.floor(n / 2))}1]`);
      if (body.shape === 'yaml') return Buffer.from(`description: ${'y'.repeat(n)}\n`);
      return Buffer.alloc(n, 0x41);
    }
  }
}

/** A failing request in a few lines: what to send to see it again. */
export function describeRequest(r: FuzzRequest, bodyBytes?: Buffer): string {
  const who = r.caller.kind === 'role' ? `token of role ${r.caller.role}` : r.caller.kind === 'none' ? 'no Authorization header' : `Authorization: ${r.caller.header.slice(0, 80)}`;
  const body = !r.body
    ? 'no body'
    : r.body.kind === 'json' || r.body.kind === 'text'
      ? `body ${bodyBytes ? `(${bodyBytes.length} bytes) ` : ''}${(bodyBytes ?? renderBody(r.body)).toString('utf8').slice(0, 300)}`
      : `body ${JSON.stringify(r.body)}`;
  return `${r.method} ${r.path.slice(0, 300)}${r.path.length > 300 ? '…' : ''} [route ${r.route}; ${who}; headers ${JSON.stringify(r.headers).slice(0, 200)}; ${body}]`;
}
