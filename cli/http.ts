/** A small client for Steward's HTTP API, used by the CLI. */
export class StewardHttp {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string | undefined,
  ) {}

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new CliError(`cannot reach the Steward API at ${this.baseUrl}: ${(err as Error).cause ?? (err as Error).message}`);
    }
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON (a proxy's error page): reported below as text, or handed back as it is.
      json = res.status >= 400 ? null : text;
    }
    if (res.status >= 400 && !isVerdict(json)) {
      const message = (json as { error?: { message?: string } } | null)?.error?.message ?? text;
      throw new CliError(`${method} ${path} failed with ${res.status}: ${message}`);
    }
    return { status: res.status, body: json };
  }

  /**
   * Every page of a paged listing (`nextCursor` continues it): the items under `key` of all pages joined,
   * with the first page's other fields, so the CLI shows the whole answer rather than its first page.
   */
  async allPages(path: string, params: URLSearchParams, key: string): Promise<Record<string, unknown>> {
    let first: Record<string, unknown> | undefined;
    const items: unknown[] = [];
    for (let cursor: string | null = null; ; ) {
      const query = new URLSearchParams(params);
      if (cursor) query.set('cursor', cursor);
      const page = (await this.call('GET', `${path}?${query}`)).body as Record<string, unknown> & { nextCursor?: string | null };
      first ??= page;
      items.push(...((page[key] as unknown[] | undefined) ?? []));
      cursor = page.nextCursor ?? null;
      if (!cursor) break;
    }
    return { ...first, [key]: items, nextCursor: null };
  }
}

function isVerdict(json: unknown): boolean {
  return typeof json === 'object' && json !== null && 'verdict' in json;
}

/** An error the user can act on: printed as one line, no stack trace. */
export class CliError extends Error {}
