import type { FastifyInstance } from 'fastify';
import { parse } from 'yaml';
import { ApiError } from './errors.js';

/** Manifests may be posted as YAML as well as JSON; a YAML syntax error is a 400 naming line and column. */
export function installYamlParser(app: FastifyInstance): void {
  app.addContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml'], { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parse(body as string, { maxAliasCount: 100 }));
    } catch (err) {
      const e = err as Error & { linePos?: { line: number; col: number }[] };
      const where = e.linePos?.[0] ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
      done(new ApiError(400, 'invalid_yaml', `body is not valid YAML${where}: ${e.message.split('\n')[0]}`), undefined);
    }
  });
}
