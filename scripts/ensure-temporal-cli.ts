import { ensureTemporalCli, TemporalCliNotFoundError } from '../platform/temporal-cli.js';

/** `npm run temporal:ensure`: prints the path of a usable `temporal` CLI, installing it if needed. */
try {
  const cli = await ensureTemporalCli();
  process.stdout.write(`${cli.path}\n`);
  process.stderr.write(`[temporal-cli] using ${cli.path} (from ${cli.source})\n`);
} catch (err) {
  if (!(err instanceof TemporalCliNotFoundError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
