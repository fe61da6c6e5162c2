import fc from 'fast-check';

/**
 * The API's routes as its own OpenAPI document describes them, and value generators driven by their JSON
 * Schemas, so a route added tomorrow is fuzzed without touching this suite.
 */

/* eslint-disable @typescript-eslint/no-explicit-any -- JSON Schema documents are untyped */
export type JsonSchema = Record<string, any>;

export interface Route {
  readonly method: string;
  /** OpenAPI template, e.g. `/models/{id}/approvals`. */
  readonly path: string;
  readonly pathParams: readonly { name: string; schema: JsonSchema }[];
  readonly queryParams: readonly { name: string; schema: JsonSchema }[];
  readonly headerParams: readonly { name: string; schema: JsonSchema }[];
  /** Content types of the request body and the schema of its JSON form; null without a body. */
  readonly body: { contentTypes: readonly string[]; schema: JsonSchema } | null;
  /** True when OpenAPI says the route needs no token. */
  readonly public: boolean;
}

export function routesOf(doc: JsonSchema): Route[] {
  const resolve = (s: JsonSchema | undefined): JsonSchema => {
    if (!s?.$ref) return s ?? {};
    const name = String(s.$ref).split('/').pop()!;
    return resolve(doc.components?.schemas?.[name]);
  };
  const routes: Route[] = [];
  for (const [path, operations] of Object.entries<JsonSchema>(doc.paths ?? {})) {
    for (const [method, op] of Object.entries<JsonSchema>(operations)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const params = (op.parameters ?? []).map((p: JsonSchema) => ({ in: p.in as string, name: p.name as string, schema: resolve(p.schema) }));
      const content = op.requestBody?.content as Record<string, { schema?: JsonSchema }> | undefined;
      const security = op.security ?? doc.security ?? [];
      routes.push({
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p: { in: string }) => p.in === 'path'),
        queryParams: params.filter((p: { in: string }) => p.in === 'query'),
        headerParams: params.filter((p: { in: string }) => p.in === 'header'),
        body: content ? { contentTypes: Object.keys(content), schema: resolve(Object.values(content)[0]?.schema) } : null,
        public: security.length === 0,
      });
    }
  }
  return routes;
}

/** A string matching `pattern` when fast-check can generate one, else undefined. */
function matching(pattern: string, maxLength = 40): fc.Arbitrary<string> | undefined {
  try {
    const re = new RegExp(pattern);
    return fc.stringMatching(re).filter((s) => s.length <= Math.max(maxLength, 80));
  } catch {
    return undefined;
  }
}

/**
 * Values for a JSON Schema: mostly the shape the schema asks for (so validation gets deep and handlers run),
 * with a hostile leaf now and then, a wrong type, a missing or an extra property.
 */
export function valueFor(schema: JsonSchema, hostile: fc.Arbitrary<unknown>, depth = 0): fc.Arbitrary<unknown> {
  const wellFormed = wellFormedFor(schema, hostile, depth);
  return fc.oneof({ weight: 8, arbitrary: wellFormed }, { weight: 1, arbitrary: hostile }, { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) });
}

function wellFormedFor(schema: JsonSchema, hostile: fc.Arbitrary<unknown>, depth: number): fc.Arbitrary<unknown> {
  if (depth > 6) return hostile;
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives?.length) return fc.oneof(...alternatives.map((s: JsonSchema) => wellFormedFor(s, hostile, depth + 1)));
  if (schema.allOf?.length) return wellFormedFor(Object.assign({}, ...schema.allOf), hostile, depth);
  if (schema.enum?.length) return fc.constantFrom(...schema.enum);
  if (schema.const !== undefined) return fc.constant(schema.const);
  switch (schema.type) {
    case 'string': {
      if (schema.format === 'uuid') return fc.uuid();
      if (schema.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
      if (schema.pattern) return matching(schema.pattern, schema.maxLength) ?? hostile;
      return fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 30, 30) });
    }
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1000 });
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true, min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6 });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const items = schema.items ? valueFor(schema.items, hostile, depth + 1) : fc.anything({ maxDepth: 1 });
      return fc.array(items, { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 3, 3) });
    }
    case 'object':
    default: {
      const properties = Object.entries<JsonSchema>(schema.properties ?? {});
      if (properties.length === 0) {
        return schema.additionalProperties && typeof schema.additionalProperties === 'object'
          ? fc.dictionary(fc.string({ maxLength: 12 }), valueFor(schema.additionalProperties, hostile, depth + 1), { maxKeys: 3 })
          : fc.dictionary(fc.string({ maxLength: 8 }), fc.anything({ maxDepth: 1 }), { maxKeys: 2 });
      }
      const required = new Set<string>(schema.required ?? []);
      const record = fc.record(
        Object.fromEntries(properties.map(([key, s]) => [key, valueFor(s, hostile, depth + 1)])),
        { requiredKeys: properties.map(([key]) => key).filter((k) => required.has(k)) },
      );
      // Now and then an extra property, or a required one taken away.
      return fc.tuple(record, fc.option(fc.tuple(fc.constantFrom('__proto__', 'constructor', 'extra', ...properties.map(([k]) => k)), hostile), { freq: 6 })).map(
        ([value, extra]) => {
          const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
          if (extra) {
            const [key, v] = extra;
            if (required.has(key) && Math.abs(String(v).length) % 2 === 0) delete out[key];
            else Object.defineProperty(out, key, { value: v, enumerable: true, configurable: true, writable: true });
          }
          return out;
        },
      );
    }
  }
}
