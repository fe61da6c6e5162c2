import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { isExecutable, onPath, toolCacheDir } from '../../platform/tool-cache.js';

const run = promisify(execFile);

/**
 * Temporal's time-skipping test server (part of the Java SDK, on Maven Central). Installed once per machine
 * with Maven into a per-user cache outside the clone, like the Temporal CLI, and run through a small wrapper
 * script that takes the port as its only argument, which is what `TestWorkflowEnvironment.createTimeSkipping`
 * passes to an `existing-path` executable.
 */
export const TEST_SERVER_VERSION = '1.31.0';
const ARTIFACT = { groupId: 'io.temporal', artifactId: 'temporal-test-server', version: TEST_SERVER_VERSION };
const MAIN_CLASS = 'io.temporal.testserver.TestServer';
/** The SLF4J binding that keeps the server from warning on every start that it has none. */
const QUIET_LOGGING = { groupId: 'org.slf4j', artifactId: 'slf4j-nop', version: '1.7.36' };

export type TestServerSource = 'TEMPORAL_TEST_SERVER' | 'cache' | 'maven';

export interface LocatedTestServer {
  /** An executable taking the port as its only argument. */
  readonly path: string;
  readonly source: TestServerSource;
}

export class TestServerNotFoundError extends Error {}

type Say = (message: string) => void;

export function testServerCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return toolCacheDir('temporal-test-server', TEST_SERVER_VERSION, env);
}



const dependency = (d: typeof ARTIFACT) =>
  `<dependency><groupId>${d.groupId}</groupId><artifactId>${d.artifactId}</artifactId><version>${d.version}</version></dependency>`;

/** A throwaway project whose only job is to make Maven resolve the server's runtime classpath. */
const POM = `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>steward.test-tools</groupId>
  <artifactId>temporal-test-server-classpath</artifactId>
  <version>${TEST_SERVER_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
    ${dependency(ARTIFACT)}
    ${dependency(QUIET_LOGGING)}
  </dependencies>
</project>
`;

const wrapperScript = (classpathFile: string) => `#!/bin/sh
# Temporal's time-skipping test server ${TEST_SERVER_VERSION} (Java), installed by Steward's test tools.
# Usage: temporal-test-server <port>
JAVA="\${JAVA_HOME:+$JAVA_HOME/bin/}java"
exec "$JAVA" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$(cat '${classpathFile}')" ${MAIN_CLASS} "$@"
`;

/** The cached install is whole when the wrapper exists and every jar on its classpath is still there. */
async function cachedInstall(dir: string): Promise<string | null> {
  const wrapper = join(dir, 'temporal-test-server');
  if (!(await isExecutable(wrapper))) return null;
  try {
    const jars = (await readFile(join(dir, 'classpath.txt'), 'utf8')).trim().split(delimiter);
    for (const jar of jars) await access(jar, constants.R_OK);
    return jars.some((j) => j.includes(`temporal-test-server-${TEST_SERVER_VERSION}.jar`)) ? wrapper : null;
  } catch {
    return null;
  }
}

/**
 * One installer at a time per cache (two test runs starting together on a CI machine): a lock directory,
 * taken over when it is older than any install takes.
 */
async function withInstallLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const lock = join(dir, '.installing');
  const staleAfterMs = 15 * 60_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - (await stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if (age > staleAfterMs) await rm(lock, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

async function mavenInstall(dir: string, env: NodeJS.ProcessEnv, say: Say): Promise<string> {
  const mvn = await onPath('mvn', env);
  const java = env.JAVA_HOME ? join(env.JAVA_HOME, 'bin', 'java') : await onPath('java', env);
  if (!mvn || !java || !(await isExecutable(java))) {
    throw new TestServerNotFoundError(
      [
        `Steward's workflow tests need Temporal's time-skipping test server ${TEST_SERVER_VERSION}, which is installed with Maven and runs on Java.`,
        `Missing: ${[!java ? 'java (Java 8 or newer)' : null, !mvn ? 'mvn (Apache Maven)' : null].filter(Boolean).join(', ') || 'java'}.`,
        'Install them (Debian: sudo apt-get install -y openjdk-17-jre-headless maven), or point TEMPORAL_TEST_SERVER at an executable',
        'that starts the test server on the port given as its only argument.',
      ].join('\n'),
    );
  }
  say(`installing Temporal's time-skipping test server ${TEST_SERVER_VERSION} from Maven Central into ${dir} (once per machine)`);
  const started = Date.now();
  await writeFile(join(dir, 'pom.xml'), POM);
  const classpathFile = join(dir, 'classpath.txt');
  try {
    await run(
      mvn,
      ['-B', '-q', '-f', join(dir, 'pom.xml'), `-Dmaven.repo.local=${join(dir, 'maven-repository')}`, 'dependency:build-classpath', `-Dmdep.outputFile=${classpathFile}`],
      { env, maxBuffer: 64 * 1024 * 1024 },
    );
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new TestServerNotFoundError(`Maven could not resolve ${ARTIFACT.groupId}:${ARTIFACT.artifactId}:${TEST_SERVER_VERSION}:\n${(e.stdout || e.stderr || e.message).trim()}`);
  }
  // Written last and renamed into place, so a half-finished install is never taken for a whole one.
  const wrapper = join(dir, 'temporal-test-server');
  await writeFile(`${wrapper}.tmp`, wrapperScript(classpathFile), { mode: 0o755 });
  await rename(`${wrapper}.tmp`, wrapper);
  say(`test server installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return wrapper;
}

/**
 * Finds the time-skipping test server, or installs it: $TEMPORAL_TEST_SERVER; the per-user cache; Maven
 * Central through `mvn dependency:build-classpath` into that cache.
 */
export async function ensureJavaTestServer(options: { env?: NodeJS.ProcessEnv; say?: Say } = {}): Promise<LocatedTestServer> {
  const env = options.env ?? process.env;
  const say = options.say ?? ((m: string) => process.stderr.write(`[test-server] ${m}\n`));
  if (env.TEMPORAL_TEST_SERVER) {
    if (await isExecutable(env.TEMPORAL_TEST_SERVER)) return { path: env.TEMPORAL_TEST_SERVER, source: 'TEMPORAL_TEST_SERVER' };
    throw new TestServerNotFoundError(`TEMPORAL_TEST_SERVER=${env.TEMPORAL_TEST_SERVER} is not an executable file`);
  }
  const dir = testServerCacheDir(env);
  const cached = await cachedInstall(dir);
  if (cached) return { path: cached, source: 'cache' };
  await mkdir(dir, { recursive: true });
  return withInstallLock(dir, async () => {
    // Another run may have finished the install while this one waited for the lock.
    const installed = await cachedInstall(dir);
    if (installed) return { path: installed, source: 'cache' as const };
    return { path: await mavenInstall(dir, env, say), source: 'maven' as const };
  });
}
