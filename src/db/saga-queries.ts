import { and, asc, count, desc, eq, gte, lt, lte, or, type SQL, sql, sum } from 'drizzle-orm';
import {
  activeSagaStatuses,
  type ProgressRecord,
  type SagaStatus,
  sagaStatuses,
  stepUnderWay,
} from '../domain/saga.js';
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
import { sagaFinishedPerMinute, sagas } from './schema/saga.js';

const MINUTE_MS = 60_000;

/**
 * The two indexes of the saga table (schema/saga.ts), named explicitly: on a small or skewed table the
 * optimizer may otherwise prefer a scan and a sort. Both end in created_at, and InnoDB appends the
 * primary key (gid), so `ORDER BY created_at DESC, gid DESC` reads them backwards with no sort.
 */
const BY_STATUS_TYPE = 'idx_saga_status_type_created';
const BY_SUBJECT = 'idx_saga_subject_created';

const summaryColumns = {
  gid: sagas.gid,
  type: sagas.type,
  status: sagas.status,
  state: sagas.state,
  subject: sagas.subject,
  progress: sagas.progress,
  owner: sagas.owner,
  createdAt: sagas.createdAt,
  updatedAt: sagas.updatedAt,
  finishedAt: sagas.finishedAt,
};

type SummaryRow = {
  [K in keyof typeof summaryColumns]: (typeof summaryColumns)[K]['_']['data'] | null;
};

function toSummary(row: SummaryRow): SagaSummary {
  const progress = (row.progress ?? {}) as Partial<ProgressRecord>;
  const { attempts, nextAttemptAt } = stepUnderWay({
    results: {},
    steps: progress.steps ?? {},
    nextAttemptAt: progress.nextAttemptAt ?? null,
    error: null,
    lastError: null,
  });
  return {
    gid: row.gid as string,
    type: row.type as string,
    status: row.status as SagaStatus,
    state: row.state as string,
    subject: row.subject,
    attempts,
    nextAttemptAt,
    error: progress.error ?? null,
    lastError: progress.lastError ?? null,
    owner: row.owner,
    createdAt: row.createdAt as Date,
    updatedAt: row.updatedAt as Date,
    finishedAt: row.finishedAt,
  };
}

/** Newest first by (created_at, gid), as every index returns them. */
const newestFirst = (a: SagaSummary, b: SagaSummary) =>
  b.createdAt.getTime() - a.createdAt.getTime() || (a.gid < b.gid ? 1 : a.gid > b.gid ? -1 : 0);

export function createSagaQueries(db: Db): SagaQueries {
  /** The (status, type) pairs present in the log, read by a loose scan of the index's first two columns. */
  async function pairs(statuses: readonly SagaStatus[], type: string | undefined) {
    const present = await db
      .select({ status: sagas.status, type: sagas.type })
      .from(sagas, { forceIndex: BY_STATUS_TYPE })
      .groupBy(sagas.status, sagas.type);
    return present.filter(
      (pair) => statuses.includes(pair.status as SagaStatus) && (type === undefined || pair.type === type),
    );
  }

  function positionFilters(filter: SagaListFilter): SQL[] {
    const where: SQL[] = [];
    if (filter.since !== undefined) where.push(gte(sagas.createdAt, filter.since));
    if (filter.after !== undefined) {
      const { createdAt, gid } = filter.after;
      where.push(
        or(lt(sagas.createdAt, createdAt), and(eq(sagas.createdAt, createdAt), lt(sagas.gid, gid))) as SQL,
      );
    }
    return where;
  }

  function pageOf(rows: SagaSummary[], limit: number): SagaPage {
    const more = rows.length > limit;
    const shown = more ? rows.slice(0, limit) : rows;
    const last = shown[shown.length - 1];
    return { sagas: shown, next: more && last ? { createdAt: last.createdAt, gid: last.gid } : null };
  }

  /**
   * A page over the (status, type) index: one range per pair the filter allows, each read newest first
   * up to the page's size, merged. A filter on status or type alone, or none, is a few such ranges.
   */
  async function byStatusAndType(filter: SagaListFilter): Promise<SagaPage> {
    const statuses = filter.status === undefined ? sagaStatuses : [filter.status];
    const ranges = await Promise.all(
      (await pairs(statuses, filter.type)).map((pair) =>
        db
          .select(summaryColumns)
          .from(sagas, { forceIndex: BY_STATUS_TYPE })
          .where(and(eq(sagas.status, pair.status), eq(sagas.type, pair.type), ...positionFilters(filter)))
          .orderBy(desc(sagas.createdAt), desc(sagas.gid))
          .limit(filter.limit + 1),
      ),
    );
    return pageOf(ranges.flat().map(toSummary).sort(newestFirst), filter.limit);
  }

  async function bySubject(filter: SagaListFilter, subject: string): Promise<SagaPage> {
    const where = [eq(sagas.subject, subject), ...positionFilters(filter)];
    if (filter.status !== undefined) where.push(eq(sagas.status, filter.status));
    if (filter.type !== undefined) where.push(eq(sagas.type, filter.type));
    const rows = await db
      .select(summaryColumns)
      .from(sagas, { forceIndex: BY_SUBJECT })
      .where(and(...where))
      .orderBy(desc(sagas.createdAt), desc(sagas.gid))
      .limit(filter.limit + 1);
    return pageOf(rows.map(toSummary), filter.limit);
  }

  async function databaseNow(): Promise<Date> {
    const [rows] = (await db.execute(sql`SELECT UNIX_TIMESTAMP(NOW(3)) * 1000 AS now`)) as unknown as [
      Array<{ now: string | number }>,
    ];
    return new Date(Number(rows[0]?.now));
  }

  /** The oldest sagas of the active statuses, per (status, type) pair, oldest first. */
  async function oldestActive(limit: number, createdBefore?: Date) {
    const each = await Promise.all(
      (await pairs(activeSagaStatuses, undefined)).map((pair) =>
        db
          .select({
            gid: sagas.gid,
            type: sagas.type,
            status: sagas.status,
            state: sagas.state,
            createdAt: sagas.createdAt,
          })
          .from(sagas, { forceIndex: BY_STATUS_TYPE })
          .where(
            and(
              eq(sagas.status, pair.status),
              eq(sagas.type, pair.type),
              createdBefore === undefined ? undefined : lt(sagas.createdAt, createdBefore),
            ),
          )
          .orderBy(asc(sagas.createdAt), asc(sagas.gid))
          .limit(limit),
      ),
    );
    return each
      .flat()
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.gid < b.gid ? -1 : 1))
      .slice(0, limit);
  }

  return {
    list: (filter) =>
      dbCall(async () => {
        if (filter.q === undefined) return byStatusAndType(filter);
        const [byGid] = await db.select(summaryColumns).from(sagas).where(eq(sagas.gid, filter.q));
        const matches =
          byGid !== undefined &&
          (filter.status === undefined || byGid.status === filter.status) &&
          (filter.type === undefined || byGid.type === filter.type);
        if (matches) return { sagas: filter.after ? [] : [toSummary(byGid)], next: null };
        return bySubject(filter, filter.q);
      }),

    latestForSubject: (type, subject, notAfter) =>
      dbCall(async () => {
        const [row] = await db
          .select(summaryColumns)
          .from(sagas, { forceIndex: BY_SUBJECT })
          .where(and(eq(sagas.subject, subject), lte(sagas.createdAt, notAfter), eq(sagas.type, type)))
          .orderBy(desc(sagas.createdAt), desc(sagas.gid))
          .limit(1);
        return row === undefined ? undefined : toSummary(row);
      }),

    stats: (windowMinutes) =>
      dbCall(async (): Promise<SagaStats> => {
        const now = await databaseNow();

        // Read from the (status, type, created_at) index alone.
        const counted = await db
          .select({ status: sagas.status, type: sagas.type, count: count() })
          .from(sagas, { forceIndex: BY_STATUS_TYPE })
          .groupBy(sagas.status, sagas.type);

        const [oldest] = await oldestActive(1);

        // Each coordinator adds the sagas it finished to the count of the minute (saga_finished_minute).
        const firstMinute = Math.floor(now.getTime() / MINUTE_MS) - (windowMinutes - 1);
        const minute = sql<number>`FLOOR(UNIX_TIMESTAMP(${sagaFinishedPerMinute.minute}) / 60)`.mapWith(
          Number,
        );
        const finished = await db
          .select({
            minute,
            status: sagaFinishedPerMinute.status,
            count: sum(sagaFinishedPerMinute.count).mapWith(Number),
          })
          .from(sagaFinishedPerMinute)
          .where(gte(sagaFinishedPerMinute.minute, new Date(firstMinute * MINUTE_MS)))
          .groupBy(sagaFinishedPerMinute.minute, sagaFinishedPerMinute.status);
        const throughput: ThroughputBucket[] = [];
        for (let i = 0; i < windowMinutes; i++) {
          const at = firstMinute + i;
          const of = (status: SagaStatus) =>
            finished
              .filter((row) => row.minute === at && row.status === status)
              .reduce((total, row) => total + row.count, 0);
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
          oldestActive: oldest ? { ...oldest, status: oldest.status as SagaStatus } : null,
          throughput,
        };
      }),

    unfinishedOlderThan: (olderThanMs, limit) =>
      dbCall(async (): Promise<UnfinishedSagas> => {
        const now = await databaseNow();
        const before = new Date(now.getTime() - olderThanMs);
        const oldest = await oldestActive(limit, before);
        return { now, sagas: oldest.map(({ gid, createdAt }) => ({ gid, createdAt })) };
      }),
  };
}
