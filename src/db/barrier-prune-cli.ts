// `npm run barrier:prune -- --older-than 7d`: deletes the barrier rows older than the given age (default
// BARRIER_RETENTION) in small batches, except those of sagas not final yet, which the saga log names. It
// prunes the barrier tables of USER_DATABASE_URL and SCORE_DATABASE_URL (each defaulting to DATABASE_URL)
// and reads the saga log from SAGA_DATABASE_URL (or DATABASE_URL). Without a readable saga table it
// refuses with exit code 2: pruning by age alone is what turned late compensations into null ones.
import { parseArgs } from 'node:util';
import { parseDuration } from '../config/duration.js';
import { type Config, ConfigError, loadConfig } from '../config.js';
import { PRUNE_LIMITS } from '../domain/barrier-prune.js';
import {
  createBarrierTable,
  DEFAULT_BATCH_SIZE,
  type PrunePlan,
  planPrune,
  pruneTable,
} from './barrier-prune.js';
import { openDatabase } from './connection.js';
import { redactUrl } from './database-url.js';
import { resolveLocalDatabase } from './local-server.js';
import { createSagaQueries } from './saga-queries.js';

const REFUSED = 2;

/** The innermost message: the server's own words ("Table 'x.saga' doesn't exist", "connect ECONNREFUSED …"). */
function rootMessage(error: unknown): string {
  let current = error;
  for (let depth = 0; depth < 5 && current instanceof Error && current.cause instanceof Error; depth++) {
    current = current.cause;
  }
  return current instanceof Error ? current.message : String(error);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { 'older-than': { type: 'string' }, 'batch-size': { type: 'string' } },
  });
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return REFUSED;
  }
  const olderThan = values['older-than'];
  const olderThanMs = olderThan === undefined ? config.barrier.retentionMs : parseDuration(olderThan);
  const batchSize = Number(values['batch-size'] ?? DEFAULT_BATCH_SIZE);
  if (olderThanMs === undefined || olderThanMs < PRUNE_LIMITS.minAgeMs) {
    console.error(`--older-than expects a duration of at least 1m such as 12h or 7d, got "${olderThan}"`);
    return REFUSED;
  }
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > PRUNE_LIMITS.maxBatchSize) {
    console.error(
      `--batch-size expects an integer from 1 to ${PRUNE_LIMITS.maxBatchSize}, got "${values['batch-size']}"`,
    );
    return REFUSED;
  }

  const { database } = config;
  let local: Awaited<ReturnType<typeof resolveLocalDatabase>> | undefined;
  if ([database.sagaUrl, database.userUrl, database.scoreUrl].includes(undefined)) {
    const log = { info: (message: string) => console.log(message), warn: (m: string) => console.warn(m) };
    local = await resolveLocalDatabase(database.dataDir, log);
  }
  const urlOf = (url: string | undefined) => url ?? (local?.url as string);
  try {
    const sagaUrl = urlOf(database.sagaUrl);
    const sagaDatabase = openDatabase(sagaUrl, { poolSize: 1 });
    let plan: PrunePlan;
    try {
      plan = await planPrune(createSagaQueries(sagaDatabase.db), olderThanMs);
    } catch (error) {
      console.error(
        `cannot read the saga table at ${redactUrl(sagaUrl)} (${rootMessage(error)}): nothing was pruned.\n` +
          'The saga log says which barrier rows the sagas not final yet still need; set SAGA_DATABASE_URL ' +
          "(or DATABASE_URL) to the api process's database.",
      );
      return REFUSED;
    } finally {
      await sagaDatabase.close();
    }
    if (plan.horizon) {
      console.warn(
        `more than ${PRUNE_LIMITS.maxKeepGids} sagas older than the retention are not final: keeping every ` +
          `barrier row newer than the oldest of them, ${plan.horizon.gid} ` +
          `(created ${plan.horizon.createdAt.toISOString()})`,
      );
    }

    let failed = false;
    for (const url of new Set([urlOf(database.userUrl), urlOf(database.scoreUrl)])) {
      const barrierDatabase = openDatabase(url, { poolSize: 1 });
      try {
        const deleted = await pruneTable(createBarrierTable(barrierDatabase.db), plan, { batchSize });
        console.log(
          `${redactUrl(url)}: deleted ${deleted} barrier rows older than ${olderThan ?? `${olderThanMs} ms`}` +
            ` (the rows of ${plan.keepGids.length} sagas not final yet were kept)`,
        );
      } catch (error) {
        failed = true;
        console.error(`${redactUrl(url)}: pruning failed (${rootMessage(error)})`);
      } finally {
        await barrierDatabase.close();
      }
    }
    return failed ? 1 : 0;
  } finally {
    await local?.stop();
  }
}

process.exitCode = await main();
