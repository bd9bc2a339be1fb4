// `npm run saga:prune -- --older-than 30d`: deletes final sagas (succeeded, aborted) that finished
// longer ago than the given age (default SAGA_RETENTION), in small batches. Running sagas stay.
import { parseArgs } from 'node:util';
import { parseDuration } from '../config/duration.js';
import { loadConfig } from '../config.js';
import { openDatabase } from './connection.js';
import { resolveLocalDatabase } from './local-server.js';
import { pruneSagas } from './saga-retention.js';

const { values } = parseArgs({
  options: { 'older-than': { type: 'string' }, 'batch-size': { type: 'string' } },
});
const config = loadConfig();
const olderThanMs =
  values['older-than'] === undefined
    ? config.saga.retention.retentionMs
    : parseDuration(values['older-than']);
const batchSize = Number(values['batch-size'] ?? 500);
if (olderThanMs === undefined || olderThanMs < 3_600_000) {
  console.error(
    `--older-than expects a duration of at least 1h such as 12h or 30d, got "${values['older-than']}"`,
  );
  process.exit(2);
}
if (olderThanMs <= config.barrier.retentionMs) {
  console.warn(
    `--older-than is not more than BARRIER_RETENTION: a pruned saga's Idempotency-Key may start a new saga that finds its barrier rows`,
  );
}
if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
  console.error(`--batch-size expects an integer from 1 to 100000, got "${values['batch-size']}"`);
  process.exit(2);
}

const log = {
  info: (message: string) => console.log(message),
  warn: (message: string) => console.warn(message),
};
const url = config.database.sagaUrl;
const location = url
  ? { url, stop: async () => {} }
  : await resolveLocalDatabase(config.database.dataDir, log);
const database = openDatabase(location.url, { poolSize: 1 });
try {
  const deleted = await pruneSagas(database.db, { olderThanMs, batchSize });
  console.log(`deleted ${deleted} final sagas older than ${values['older-than'] ?? `${olderThanMs} ms`}`);
} finally {
  await database.close();
  await location.stop();
}
