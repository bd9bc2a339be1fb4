import { and, asc, count, desc, eq, gte, lt, lte, or, type SQL, sql } from 'drizzle-orm';
import type { ErrorInfo } from '../domain/errors.js';
import { activeSagaStatuses, type SagaStatus } from '../domain/saga.js';
import type {
  SagaListFilter,
  SagaPage,
  SagaQueries,
  SagaStats,
  SagaSummary,
  ThroughputBucket,
  UnfinishedSagas,
} from '../domain/saga-queries.js';
import type { Db } from './connection.js';
import { dbCall } from './db-errors.js';
import { sagas } from './schema/saga.js';

const MINUTE_MS = 60_000;

const summaryColumns = {
  gid: sagas.gid,
  type: sagas.type,
  status: sagas.status,
  state: sagas.state,
  subject: sagas.subject,
  attempts: sagas.attempts,
  nextAttemptAt: sagas.nextAttemptAt,
  error: sagas.error,
  lastError: sagas.lastError,
  owner: sagas.owner,
  createdAt: sagas.createdAt,
  updatedAt: sagas.updatedAt,
  finishedAt: sagas.finishedAt,
};

type SummaryRow = {
  [K in keyof typeof summaryColumns]: (typeof summaryColumns)[K]['_']['data'] | null;
};

function toSummary(row: SummaryRow): SagaSummary {
  return {
    gid: row.gid as string,
    type: row.type as string,
    status: row.status as SagaStatus,
    state: row.state as string,
    subject: row.subject,
    attempts: row.attempts ?? 0,
    nextAttemptAt: row.nextAttemptAt,
    error: (row.error ?? null) as ErrorInfo | null,
    lastError: (row.lastError ?? null) as ErrorInfo | null,
    owner: row.owner,
    createdAt: row.createdAt as Date,
    updatedAt: row.updatedAt as Date,
    finishedAt: row.finishedAt,
  };
}

/**
 * The index that serves a listing, named explicitly: on a small or skewed table the optimizer may
 * otherwise prefer a scan and a sort. Every index ends in created_at, and InnoDB appends the primary
 * key (gid) to it, so `ORDER BY created_at DESC, gid DESC` reads the index backwards with no sort.
 */
function listingIndex(filter: { status?: unknown; type?: unknown; subject?: unknown }): string {
  if (filter.subject !== undefined) return 'idx_saga_subject_created';
  if (filter.status !== undefined && filter.type !== undefined) return 'idx_saga_status_type_created';
  if (filter.status !== undefined) return 'idx_saga_status_created';
  if (filter.type !== undefined) return 'idx_saga_type_created';
  return 'idx_saga_created';
}

export function createSagaQueries(db: Db): SagaQueries {
  async function page(filter: SagaListFilter, where: SQL[], index: string | null): Promise<SagaPage> {
    if (filter.status !== undefined) where.push(eq(sagas.status, filter.status));
    if (filter.type !== undefined) where.push(eq(sagas.type, filter.type));
    if (filter.since !== undefined) where.push(gte(sagas.createdAt, filter.since));
    if (filter.after !== undefined) {
      const { createdAt, gid } = filter.after;
      where.push(
        or(lt(sagas.createdAt, createdAt), and(eq(sagas.createdAt, createdAt), lt(sagas.gid, gid))) as SQL,
      );
    }
    const from =
      index === null
        ? db.select(summaryColumns).from(sagas)
        : db.select(summaryColumns).from(sagas, { forceIndex: index });
    const rows = await from
      .where(and(...where))
      .orderBy(desc(sagas.createdAt), desc(sagas.gid))
      .limit(filter.limit + 1);
    const more = rows.length > filter.limit;
    const shown = (more ? rows.slice(0, filter.limit) : rows).map(toSummary);
    const last = shown[shown.length - 1];
    return { sagas: shown, next: more && last ? { createdAt: last.createdAt, gid: last.gid } : null };
  }

  async function databaseNow(): Promise<Date> {
    const [rows] = (await db.execute(sql`SELECT UNIX_TIMESTAMP(NOW(3)) * 1000 AS now`)) as unknown as [
      Array<{ now: string | number }>,
    ];
    return new Date(Number(rows[0]?.now));
  }

  return {
    list: (filter) =>
      dbCall(async () => {
        if (filter.q === undefined) return page(filter, [], listingIndex(filter));
        // A gid names one saga (primary key); otherwise the text is a subject, e.g. a user id.
        const byGid = await page({ ...filter, after: undefined }, [eq(sagas.gid, filter.q)], null);
        if (byGid.sagas.length > 0) return { sagas: filter.after ? [] : byGid.sagas, next: null };
        return page(filter, [eq(sagas.subject, filter.q)], listingIndex({ subject: filter.q }));
      }),

    latestForSubject: (type, subject, notAfter) =>
      dbCall(async () => {
        const [row] = await db
          .select(summaryColumns)
          .from(sagas, { forceIndex: 'idx_saga_subject_created' })
          .where(and(eq(sagas.subject, subject), lte(sagas.createdAt, notAfter), eq(sagas.type, type)))
          .orderBy(desc(sagas.createdAt), desc(sagas.gid))
          .limit(1);
        return row === undefined ? undefined : toSummary(row);
      }),

    stats: (windowMinutes) =>
      dbCall(async (): Promise<SagaStats> => {
        const now = await databaseNow();

        // Read from (status, type, created_at) alone: no table rows are touched.
        const counted = await db
          .select({ status: sagas.status, type: sagas.type, count: count() })
          .from(sagas, { forceIndex: 'idx_saga_status_type_created' })
          .groupBy(sagas.status, sagas.type);

        // One ordered probe per active status: (status, created_at) gives each oldest at once, where
        // `status IN (...) ORDER BY created_at` would have to merge (sort) the two ranges.
        const oldest = await Promise.all(
          activeSagaStatuses.map(async (status) => {
            const [row] = await db
              .select({
                gid: sagas.gid,
                type: sagas.type,
                status: sagas.status,
                state: sagas.state,
                createdAt: sagas.createdAt,
              })
              .from(sagas, { forceIndex: 'idx_saga_status_created' })
              .where(eq(sagas.status, status))
              .orderBy(asc(sagas.createdAt), asc(sagas.gid))
              .limit(1);
            return row;
          }),
        );
        const oldestActive =
          oldest
            .filter((row) => row !== undefined)
            .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())[0] ?? null;

        // Finished sagas per minute, from (finished_at, status) alone. ORDER BY NULL: the buckets are
        // placed by minute below, so MariaDB need not sort its GROUP BY.
        const firstMinute = Math.floor(now.getTime() / MINUTE_MS) - (windowMinutes - 1);
        const minute = sql<number>`FLOOR(UNIX_TIMESTAMP(${sagas.finishedAt}) / 60)`.mapWith(Number);
        const finished = await db
          .select({ minute, status: sagas.status, count: count() })
          .from(sagas, { forceIndex: 'idx_saga_finished' })
          .where(gte(sagas.finishedAt, new Date(firstMinute * MINUTE_MS)))
          .groupBy(minute, sagas.status)
          .orderBy(sql`NULL`);
        const throughput: ThroughputBucket[] = [];
        for (let i = 0; i < windowMinutes; i++) {
          const at = firstMinute + i;
          const of = (status: SagaStatus) =>
            finished.find((row) => row.minute === at && row.status === status)?.count ?? 0;
          throughput.push({
            minute: new Date(at * MINUTE_MS),
            succeeded: of('succeeded'),
            aborted: of('aborted'),
          });
        }

        return {
          now,
          counts: counted.map((row) => ({
            status: row.status as SagaStatus,
            type: row.type,
            count: row.count,
          })),
          oldestActive: oldestActive && {
            ...oldestActive,
            status: oldestActive.status as SagaStatus,
          },
          throughput,
        };
      }),

    unfinishedOlderThan: (olderThanMs, limit) =>
      dbCall(async (): Promise<UnfinishedSagas> => {
        const now = await databaseNow();
        const before = new Date(now.getTime() - olderThanMs);
        // One ordered probe per active status on (status, created_at), as for oldestActive: normally a
        // handful of rows, read from the index range alone however large the log is.
        const each = await Promise.all(
          activeSagaStatuses.map((status) =>
            db
              .select({ gid: sagas.gid, createdAt: sagas.createdAt })
              .from(sagas, { forceIndex: 'idx_saga_status_created' })
              .where(and(eq(sagas.status, status), lt(sagas.createdAt, before)))
              .orderBy(asc(sagas.createdAt), asc(sagas.gid))
              .limit(limit),
          ),
        );
        const oldestFirst = each
          .flat()
          .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.gid < b.gid ? -1 : 1));
        return { now, sagas: oldestFirst.slice(0, limit) };
      }),
  };
}
