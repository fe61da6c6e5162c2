import { spawn } from 'node:child_process';

export interface DevStack {
  readonly api: string;
  readonly tokens: Record<string, string>;
  /** Everything it printed so far. */
  output(): string;
  stop(): Promise<number | null>;
}

/**
 * `steward dev` on embedded defaults in `dataDir` (no DATABASE_URL, STEWARD_TOKEN or STEWARD_RUNTIMES from the
 * test's environment), once it has printed its API address and tokens.
 */
export async function startDev(dataDir: string, options: { port: number; temporalPort: number; env?: NodeJS.ProcessEnv }): Promise<DevStack> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(options.port), STEWARD_DATA_DIR: dataDir, TEMPORAL_ADDRESS: `127.0.0.1:${options.temporalPort}` };
  delete env.DATABASE_URL;
  delete env.STEWARD_TOKEN;
  delete env.STEWARD_RUNTIMES;
  Object.assign(env, options.env);
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'dev'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`steward dev printed no tokens:\n${output}`)), 120_000);
    child.stdout.on('data', () => {
      if (output.includes('Press Ctrl+C')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => reject(new Error(`steward dev exited with ${code}:\n${output}`)));
  });
  const tokens = Object.fromEntries([...output.matchAll(/^\s+(dev-[a-z]+)\s+\S+\s+(stw_\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  return {
    api: /API:\s+(http:\/\/\S+)/.exec(output)![1]!,
    tokens,
    output: () => output,
    async stop() {
      child.kill('SIGINT');
      return exited;
    },
  };
}
