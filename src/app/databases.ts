import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { type Database, openDatabase } from '../db/connection.js';
import { redactUrl } from '../db/database-url.js';
import { resolveLocalDatabase } from '../db/local-server.js';
import { migrateDatabase, migrationsApplied } from '../db/migrate.js';
import type { MigrationSetName } from '../db/migration-sets.js';
import type { Metrics } from '../observability/metrics.js';
import { withTimeout } from '../with-timeout.js';
import type { Closers } from './closers.js';
import type { Plan } from './plan.js';

const READINESS_TIMEOUT_MS = 1_000;

/** The databases this process uses, each migrated with the tables it owns here, by role. */
export interface Databases {
  readonly user: Database | undefined;
  readonly score: Database | undefined;
  readonly saga: Database | undefined;
  readonly all: readonly Database[];
  /** Every database still has every migration this build ships (for /readyz). */
  migrationsCurrent(): Promise<boolean>;
}

/** Whether a database answers a trivial query within the readiness timeout. */
export function answers(database: Database): Promise<boolean> {
  return withTimeout(database.pool.query('SELECT 1'), READINESS_TIMEOUT_MS).then(
    () => true,
    () => false,
  );
}

/**
 * Opens the databases: each service has its own URL (defaulting to DATABASE_URL, else a local server)
 * and gets only the tables it owns; services sharing a URL share one pool.
 */
export async function openDatabases(
  config: Config,
  plan: Plan,
  logger: Logger,
  metrics: Metrics,
  closers: Closers,
): Promise<Databases> {
  const wanted: Array<{
    role: 'user' | 'score' | 'saga';
    url: string | undefined;
    sets: MigrationSetName[];
  }> = [];
  if (plan.hostsUser) wanted.push({ role: 'user', url: config.database.userUrl, sets: ['user', 'barrier'] });
  if (plan.hostsScore)
    wanted.push({ role: 'score', url: config.database.scoreUrl, sets: ['score', 'barrier'] });
  if (plan.api) wanted.push({ role: 'saga', url: config.database.sagaUrl, sets: ['saga'] });

  let fallbackUrl: string | undefined;
  if (wanted.some((entry) => entry.url === undefined)) {
    const local = await resolveLocalDatabase(config.database.dataDir, {
      info: (message) => logger.info(message),
      warn: (message) => logger.warn(message),
    });
    closers.add(local.stop);
    fallbackUrl = local.url;
  }
  const setsByUrl = new Map<string, Set<MigrationSetName>>();
  for (const entry of wanted) {
    const url = entry.url ?? (fallbackUrl as string);
    const sets = setsByUrl.get(url) ?? new Set();
    for (const set of entry.sets) sets.add(set);
    setsByUrl.set(url, sets);
  }
  const byUrl = new Map<string, Database>();
  for (const [url, sets] of setsByUrl) {
    await migrateDatabase(url, [...sets], { info: (message) => logger.info(message) });
    const database = openDatabase(url, { poolSize: config.database.poolSize });
    byUrl.set(url, database);
    metrics.trackPool([...sets].join('+'), database.pool);
    closers.add(() => database.close());
    logger.info(
      { database: redactUrl(url), sets: [...sets], pool: config.database.poolSize },
      'database ready',
    );
  }
  const of = (role: 'user' | 'score' | 'saga') => {
    const entry = wanted.find((candidate) => candidate.role === role);
    return entry ? byUrl.get(entry.url ?? (fallbackUrl as string)) : undefined;
  };
  return {
    user: of('user'),
    score: of('score'),
    saga: of('saga'),
    all: [...byUrl.values()],
    migrationsCurrent: () =>
      withTimeout(
        Promise.all(
          [...setsByUrl].map(([url, sets]) =>
            migrationsApplied((byUrl.get(url) as Database).pool, [...sets]),
          ),
        ),
        READINESS_TIMEOUT_MS,
      ).then(
        (each) => each.every(Boolean),
        () => false,
      ),
  };
}
