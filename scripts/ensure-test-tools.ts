import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { ensureTemporalCli, TemporalCliNotFoundError } from '../platform/temporal-cli.js';
import { findPostgresBinDir } from '../test/harness/postgres-cluster.js';
import { ensureJavaTestServer, TestServerNotFoundError } from '../test/harness/java-test-server.js';
import { ensureMlserver } from '../test/harness/mlserver.js';
import { ensureObjectStoreServers } from '../test/harness/object-stores.js';
import { ensurePythonReference } from '../test/harness/python-reference.js';
import { PythonVenvError } from '../test/harness/python-venv.js';

/**
 * Runs before `npm test`: makes sure the real servers the suite needs exist on this machine. The Temporal CLI
 * is found or built (see platform/temporal-cli.ts); the time-skipping test server of the workflow tests is found or
 * installed from Maven Central (see test/harness/java-test-server.ts); MLServer's virtual environment and the
 * Python reference implementations' one (scikit-learn, fairlearn, scipy, Evidently, picklescan) are created
 * once (see test/harness/mlserver.ts), and so is the object stores' one (moto, gcp-storage-emulator; see
 * test/harness/object-stores.ts); PostgreSQL server binaries are installed from Debian's
 * packages when missing and we may (root with apt-get), unless DATABASE_URL points at a server already.
 */
const say = (m: string) => process.stderr.write(`[test-tools] ${m}\n`);

try {
  const cli = await ensureTemporalCli({ say });
  say(`Temporal CLI: ${cli.path} (${cli.source})`);
} catch (err) {
  if (!(err instanceof TemporalCliNotFoundError)) throw err;
  say(err.message);
  process.exit(1);
}

try {
  const server = await ensureJavaTestServer({ say });
  say(`time-skipping test server: ${server.path} (${server.source})`);
} catch (err) {
  if (!(err instanceof TestServerNotFoundError)) throw err;
  say(err.message);
  process.exit(1);
}

try {
  const mlserver = await ensureMlserver({ say });
  say(`MLServer: ${mlserver.mlserver} (${mlserver.source})`);
  const reference = await ensurePythonReference({ say });
  say(`Python reference implementations: ${reference.python} (${reference.source})`);
  const stores = await ensureObjectStoreServers({ say });
  say(`object stores (moto, gcp-storage-emulator): ${stores.bin} (${stores.source})`);
} catch (err) {
  if (!(err instanceof PythonVenvError)) throw err;
  say(err.message);
  process.exit(1);
}

if (process.env.DATABASE_URL) {
  say('PostgreSQL: DATABASE_URL is set; using that server');
} else if (await findPostgresBinDir()) {
  say(`PostgreSQL: server binaries in ${await findPostgresBinDir()}`);
} else if (userInfo().uid === 0) {
  say('PostgreSQL server binaries not found; installing Debian package postgresql');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'postgresql'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (!(await findPostgresBinDir())) {
    say('apt-get finished but initdb is still missing');
    process.exit(1);
  }
} else {
  say('PostgreSQL server binaries (initdb, postgres) not found. Install them (Debian: sudo apt-get install -y postgresql) or set DATABASE_URL.');
  process.exit(1);
}
