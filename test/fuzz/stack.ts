import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { Client } from '@temporalio/client';
import { sql } from 'kysely';
import type { CatalogDb } from '../../catalog/db.js';
import { renderBody, type FuzzRequest } from './requests.js';

/**
 * The fuzz suite's moving parts: Steward processes spawned the way they run in production (`tsx api/main.ts`,
 * `tsx workers/main.ts`, configured by environment), a raw HTTP client that sends exactly the bytes it is
 * given, and a ledger of what the catalog and Temporal hold, to tell what a request left behind.
 */

export interface StewardProcess {
  readonly name: string;
  child: ChildProcess;
  /** Every line the process wrote, stdout and stderr, in order. */
  readonly lines: string[];
  /** Set when the process exited: how, and when. */
  exited: { code: number | null; signal: string | null; at: number } | null;
  restart(): void;
  stop(): Promise<void>;
}

export function startProcess(name: string, entry: string, env: NodeJS.ProcessEnv): StewardProcess {
  const proc: StewardProcess = {
    name,
    child: undefined as unknown as ChildProcess,
    lines: [],
    exited: null,
    restart() {
      proc.exited = null;
      const child = spawn(process.execPath, ['--import', 'tsx', entry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let partial = '';
      const collect = (d: Buffer) => {
        const text = partial + d.toString();
        const parts = text.split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) if (line) proc.lines.push(line);
      };
      child.stdout!.on('data', collect);
      child.stderr!.on('data', collect);
      child.once('exit', (code, signal) => {
        if (partial) proc.lines.push(partial);
        proc.exited = { code, signal, at: Date.now() };
      });
      proc.child = child;
    },
    async stop() {
      const child = proc.child;
      if (proc.exited || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  proc.restart();
  return proc;
}

export interface Answer {
  /** The HTTP status, or 0 when the server closed the connection while the client was still sending the body. */
  readonly status: number;
  readonly body: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * A socket the server resets while the client is still writing a body it already answered (413, 401) emits
 * 'error' after the response has detached from it; with no listener left that error is uncaught and fails
 * the run. The request's own 'error' handler still sees every error that matters while it is attached.
 */
const guarded = new WeakSet<object>();
const ignoreLateSocketError = (socket: NodeJS.EventEmitter) => {
  if (guarded.has(socket)) return;
  guarded.add(socket);
  socket.on('error', () => undefined);
};

/**
 * Sends one request byte for byte: the raw path (no URL normalisation, so `..` and `%2F` arrive as written),
 * the headers as given, and the body with a Content-Length or chunked. An answer is an HTTP status; a
 * connection that ends without one rejects.
 */
export function send(port: number, r: FuzzRequest, authorization: string | undefined, { bodyWaitMs = 0, fresh = false } = {}): Promise<Answer> {
  const bytes = r.body ? renderBody(r.body) : undefined;
  const chunked = r.body?.kind === 'huge' && r.body.chunked;
  const headers: Record<string, string> = { ...r.headers };
  if (authorization !== undefined) headers.authorization = authorization;
  if (bytes && !chunked) headers['content-length'] = String(bytes.length);
  return new Promise<Answer>((resolve, reject) => {
    let answered = false;
    const req = http.request({ host: '127.0.0.1', port, method: r.method, path: r.path, headers, agent: fresh ? false : agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < 65_536) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => reject(err));
    });
    req.on('socket', ignoreLateSocketError);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)));
    // A server may refuse a body it will not read (413, or an answer before the body) and close the connection
    // while the client is still sending it; that is an answer of its own (status 0). A connection that ends
    // after the whole request was sent, with no answer, is not.
    let uploaded = false;
    req.on('finish', () => {
      uploaded = true;
    });
    req.on('error', (err) => {
      if (answered) return;
      const code = (err as NodeJS.ErrnoException).code;
      // 'finish' only means the body reached the socket buffer: a large body may still be unread when the
      // server answers and closes.
      const unread = bytes !== undefined && (!uploaded || bytes.length > 16_384);
      if (unread && (code === 'ECONNRESET' || code === 'EPIPE')) resolve({ status: 0, body: `connection closed by the server while sending ${bytes.length} bytes` });
      else reject(err);
    });
    const writeBody = () => {
      if (answered || req.destroyed) return;
      if (!bytes) req.end();
      else if (!chunked) req.end(bytes);
      else {
        for (let i = 0; i < bytes.length; i += 65_536) req.write(bytes.subarray(i, i + 65_536));
        req.end();
      }
    };
    // Like `Expect: 100-continue`: a large body waits a moment after the headers, so a server that answers
    // without reading it (401, 404, 413, 415) is heard before the body is sent and the connection is reset.
    if (bytes && bytes.length > 16_384 && bodyWaitMs > 0) {
      req.flushHeaders();
      setTimeout(writeBody, bodyWaitMs);
    } else writeBody();
  });
}

/** Bodies a server may refuse by closing the connection: over the API's 1 MB limit. */
const OVER_LIMIT = 1024 * 1024;

/**
 * `send`, and once more on a fresh connection if the first was reset: a keep-alive connection the server had
 * already closed (after refusing a big body elsewhere), or a big body sent before an early answer arrived.
 * Only a body over the limit may still end in a closed connection (status 0); anything else is an error.
 */
export async function sendPatiently(port: number, r: FuzzRequest, authorization: string | undefined): Promise<Answer> {
  const retry = () => send(port, r, authorization, { bodyWaitMs: 1000, fresh: true });
  let answer: Answer;
  try {
    answer = await send(port, r, authorization, { bodyWaitMs: 50 });
  } catch (err) {
    if (!['ECONNRESET', 'EPIPE'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    answer = await retry();
  }
  if (answer.status === 0) answer = await retry();
  if (answer.status === 0 && !(r.body?.kind === 'huge' && r.body.bytes > OVER_LIMIT)) throw new Error(answer.body);
  return answer;
}

/** Does the process answer `GET /health` (any HTTP status) within a few seconds? */
export async function answersHealth(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(10_000) });
    await res.text();
    return true;
  } catch {
    return false;
  }
}

/** Rows per table, and per model version (or model name) where a table has such a column. */
export interface Ledger {
  readonly counts: Map<string, number>;
  readonly keyed: Map<string, Map<string, number>>;
  readonly workflows: Set<string>;
}

const KEY_COLUMNS = ['model_version_id', 'to_version_id'];

export async function takeLedger(db: CatalogDb, client: Client, taskQueue: string): Promise<Ledger> {
  const tables = (
    await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' and table_name not like 'kysely_%' order by table_name`.execute(db)
  ).rows.map((r) => r.table_name);
  const columns = (
    await sql<{ table_name: string; column_name: string }>`select table_name, column_name from information_schema.columns where table_schema = 'public'`.execute(db)
  ).rows;
  const counts = new Map<string, number>();
  const keyed = new Map<string, Map<string, number>>();
  for (const table of tables) {
    const cols = columns.filter((c) => c.table_name === table).map((c) => c.column_name);
    const key = table === 'model_versions' ? 'id' : table === 'models' ? 'name' : KEY_COLUMNS.find((k) => cols.includes(k));
    const total = await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(db);
    counts.set(table, Number(total.rows[0]!.n));
    if (key) {
      const rows = await sql<{ k: string | null; n: string }>`select ${sql.ref(key)} as k, count(*) as n from ${sql.table(table)} group by 1`.execute(db);
      keyed.set(table, new Map(rows.rows.map((r) => [r.k ?? '(null)', Number(r.n)])));
    }
  }
  const workflows = new Set<string>();
  for await (const w of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) workflows.add(w.workflowId);
  return { counts, keyed, workflows };
}

/**
 * What appeared between two ledgers that nothing accepted explains: rows keyed to a model version or model
 * no accepted request touched, more rows in an unkeyed table than accepted requests could have written, and
 * workflows that are not the lifecycle (or its children and helpers) of a touched version.
 */
export function unexplained(
  before: Ledger,
  after: Ledger,
  touched: { ids: Set<string>; names: Set<string>; unkeyedWrites: Map<string, number> },
): string[] {
  const problems: string[] = [];
  const explained = (key: string) => touched.ids.has(key) || touched.names.has(key) || touched.names.has(key.split('@')[0]!) || [...touched.ids].some((id) => key.includes(id));
  for (const [table, n] of after.counts) {
    const was = before.counts.get(table) ?? 0;
    const keys = after.keyed.get(table);
    if (keys) {
      for (const [key, count] of keys) {
        const grew = count - (before.keyed.get(table)?.get(key) ?? 0);
        if (grew > 0 && !explained(key)) problems.push(`${table}: ${grew} new row(s) for ${key}, which no accepted request registered or touched`);
      }
    } else if (n > was && n - was > (touched.unkeyedWrites.get(table) ?? 0)) {
      problems.push(`${table}: ${n - was} new row(s), but accepted requests explain only ${touched.unkeyedWrites.get(table) ?? 0}`);
    }
  }
  for (const id of after.workflows) {
    if (!before.workflows.has(id) && !explained(id)) problems.push(`workflow ${id}: started, but no accepted request registered or touched its model version`);
  }
  return problems;
}
