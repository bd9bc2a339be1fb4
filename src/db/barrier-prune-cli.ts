// `npm run barrier:prune -- --older-than 7d`: deletes barrier rows older than the given age
// (default BARRIER_RETENTION) in small batches.
import { parseArgs } from 'node:util';
import { parseDuration } from '../config/duration.js';
import { loadConfig } from '../config.js';
import { pruneBarriers } from './barrier-prune.js';
import { openDatabase } from './connection.js';
import { resolveLocalDatabase } from './local-server.js';

const { values } = parseArgs({
  options: { 'older-than': { type: 'string' }, 'batch-size': { type: 'string' } },
});
const config = loadConfig();
const olderThanMs =
  values['older-than'] === undefined ? config.barrier.retentionMs : parseDuration(values['older-than']);
const batchSize = Number(values['batch-size'] ?? 1000);
if (olderThanMs === undefined || olderThanMs < 60_000) {
  console.error(
    `--older-than expects a duration of at least 1m such as 12h or 7d, got "${values['older-than']}"`,
  );
  process.exit(2);
}
if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
  console.error(`--batch-size expects an integer from 1 to 100000, got "${values['batch-size']}"`);
  process.exit(2);
}

const log = {
  info: (message: string) => console.log(message),
  warn: (message: string) => console.warn(message),
};
const location = config.database.url
  ? { url: config.database.url, stop: async () => {} }
  : await resolveLocalDatabase(config.database.dataDir, log);
const database = openDatabase(location.url, { poolSize: 1 });
try {
  const deleted = await pruneBarriers(database.db, { olderThanMs, batchSize });
  console.log(`deleted ${deleted} barrier rows older than ${values['older-than'] ?? `${olderThanMs} ms`}`);
} finally {
  await database.close();
  await location.stop();
}
