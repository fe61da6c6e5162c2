import type { FastifyInstance } from 'fastify';
import { Parser, parseDocument, type CST } from 'yaml';
import { ApiError } from './errors.js';

/** YAML bodies are manifests: shallow, small, and with no use for alias bombs. */
export const YAML_LIMITS = { maxDepth: 64, maxBytes: 256 * 1024, maxAliasCount: 100 } as const;

export const YAML_CONTENT_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'];

/**
 * The deepest collection nesting of a concrete syntax tree, walked without recursion. The `yaml` library's
 * lexer and CST parser are iterative, but turning the CST into values recurses once per level; thousands of
 * levels overflow the stack, and the overflow can take the process down with it. So the depth is measured
 * on the CST first and too-deep documents never reach the composer.
 */
export function cstDepth(documents: readonly CST.Token[]): number {
  let deepest = 0;
  const stack: [CST.Token | undefined, number][] = documents.map((d) => [d, 0]);
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [token, depth] = next;
    if (!token) continue;
    if (token.type === 'document') {
      stack.push([token.value, depth]);
    } else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      deepest = Math.max(deepest, depth + 1);
      if (deepest > YAML_LIMITS.maxDepth) return deepest;
      for (const item of token.items) {
        const { key, value } = item as { key?: CST.Token | null; value?: CST.Token };
        stack.push([key ?? undefined, depth + 1], [value, depth + 1]);
      }
    }
  }
  return deepest;
}

function invalidYaml(message: string): ApiError {
  return new ApiError(400, 'invalid_yaml', `body: ${message}`, [{ field: 'body', problem: message }]);
}

/** Parses one YAML document within the limits above, or throws a 400 naming what is wrong and where. */
export function parseBoundedYaml(text: string): unknown {
  if (Buffer.byteLength(text, 'utf8') > YAML_LIMITS.maxBytes) {
    throw new ApiError(413, 'body_too_large', `a YAML body may hold at most ${YAML_LIMITS.maxBytes} bytes`);
  }
  const tokens = [...new Parser().parse(text)];
  const depth = cstDepth(tokens);
  if (depth > YAML_LIMITS.maxDepth) throw invalidYaml(`nested deeper than ${YAML_LIMITS.maxDepth} levels`);
  const document = parseDocument(text, { prettyErrors: true });
  const [error] = document.errors;
  if (error) {
    const where = error.linePos?.[0] ? ` at line ${error.linePos[0].line}, column ${error.linePos[0].col}` : '';
    throw invalidYaml(`is not valid YAML${where}: ${error.message.split('\n')[0]}`);
  }
  try {
    return document.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount });
  } catch (err) {
    // Alias expansion beyond the limit ("excessive alias count").
    throw invalidYaml(`is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

/**
 * Accepts YAML bodies on the routes of the plugin that calls this (registering manifests), and nowhere else:
 * Fastify scopes content-type parsers to the plugin, so other routes answer 415 to YAML without parsing it.
 */
export function acceptYamlBodies(app: FastifyInstance): void {
  app.addContentTypeParser(YAML_CONTENT_TYPES, { parseAs: 'string', bodyLimit: YAML_LIMITS.maxBytes }, (_request, body, done) => {
    try {
      done(null, parseBoundedYaml(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
