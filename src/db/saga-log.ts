import { and, eq, inArray, isNull, lt, or, type SQL, sql } from 'drizzle-orm';
import type { ResultSetHeader } from 'mysql2/promise';
import type { ErrorInfo } from '../domain/errors.js';
import {
  activeSagaStatuses,
  FIRST_GENERATION,
  isFinalStatus,
  type NewSaga,
  type RunnableType,
  type SagaLog,
  type SagaProgress,
  type SagaRecord,
  type SagaStatus,
} from '../domain/saga.js';
import type { Db } from './connection.js';
import { dbCall, isDuplicateKey, translateDbError } from './db-errors.js';
import { sagas } from './schema/saga.js';
import { sqlBuilder, statement } from './statement.js';

const isActive = inArray(sagas.status, [...activeSagaStatuses]);

/** Lease expiry computed by the database clock, so coordinators on different hosts agree on it. */
function leaseUntil(leaseMs: number): SQL {
  return sql`NOW(3) + INTERVAL ${leaseMs * 1000} MICROSECOND`;
}

const progressPlaceholders = {
  status: sql.placeholder('status'),
  state: sql.placeholder('state'),
  snapshot: sql.placeholder('snapshot'),
  results: sql.placeholder('results'),
  attempts: sql.placeholder('attempts'),
  nextAttemptAt: sql.placeholder('nextAttemptAt'),
  lastError: sql.placeholder('lastError'),
  error: sql.placeholder('error'),
};
type ProgressName = keyof typeof progressPlaceholders;

// create and save run for every saga: built once from the schema, run as prepared statements
// (statement.ts). The lease expiry and finished_at are computed by the database's clock.
const INSERT_SAGA = statement<
  | ProgressName
  | 'gid'
  | 'type'
  | 'machineVersion'
  | 'input'
  | 'requestFingerprint'
  | 'subject'
  | 'owner'
  | 'leaseGeneration'
  | 'leaseMicros'
  | 'final'
>(
  sqlBuilder.insert(sagas).values({
    gid: sql.placeholder('gid'),
    type: sql.placeholder('type'),
    machineVersion: sql.placeholder('machineVersion'),
    input: sql.placeholder('input'),
    requestFingerprint: sql.placeholder('requestFingerprint'),
    subject: sql.placeholder('subject'),
    owner: sql.placeholder('owner'),
    leaseGeneration: sql.placeholder('leaseGeneration'),
    leaseExpiresAt: sql`NOW(3) + INTERVAL ${sql.placeholder('leaseMicros')} MICROSECOND`,
    finishedAt: sql`IF(${sql.placeholder('final')}, NOW(3), NULL)`,
    ...progressPlaceholders,
  }),
);
// finished_at is kept once set: a final state written twice does not move the saga in the throughput buckets.
const UPDATE_PROGRESS = statement<ProgressName | 'final' | 'gid' | 'owner' | 'generation'>(
  sqlBuilder
    .update(sagas)
    .set({
      // set() takes SQL, not bare placeholders: each is a parameter encoded by its column's type.
      ...(Object.fromEntries(
        Object.entries(progressPlaceholders).map(([name, placeholder]) => [
          name,
          sql`${sql.param(placeholder, sagas[name as ProgressName])}`,
        ]),
      ) as Record<ProgressName, SQL>),
      finishedAt: sql`IF(${sql.placeholder('final')}, COALESCE(${sagas.finishedAt}, NOW(3)), NULL)`,
      updatedAt: sql`NOW(3)`,
    })
    .where(
      and(
        eq(sagas.gid, sql.placeholder('gid')),
        eq(sagas.owner, sql.placeholder('owner')),
        eq(sagas.leaseGeneration, sql.placeholder('generation')),
      ),
    ),
);

function progressValues(progress: SagaProgress): Record<ProgressName | 'final', unknown> {
  return {
    status: progress.status,
    state: progress.state,
    snapshot: progress.snapshot,
    results: progress.results,
    attempts: progress.attempts,
    nextAttemptAt: progress.nextAttemptAt,
    lastError: progress.lastError,
    error: progress.error,
    final: isFinalStatus(progress.status) ? 1 : 0,
  };
}

type Row = typeof sagas.$inferSelect;

function toRecord(row: Row): SagaRecord {
  return {
    gid: row.gid,
    type: row.type,
    machineVersion: row.machineVersion,
    status: row.status as SagaStatus,
    state: row.state,
    snapshot: row.snapshot,
    input: row.input,
    results: (row.results ?? {}) as Record<string, unknown>,
    attempts: row.attempts,
    nextAttemptAt: row.nextAttemptAt,
    lastError: (row.lastError ?? null) as ErrorInfo | null,
    error: (row.error ?? null) as ErrorInfo | null,
    requestFingerprint: row.requestFingerprint,
    subject: row.subject,
    owner: row.owner,
    leaseGeneration: row.leaseGeneration,
    leaseExpiresAt: row.leaseExpiresAt,
    finishedAt: row.finishedAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function runnableBy(kind: RunnableType): SQL | undefined {
  return and(eq(sagas.type, kind.type), eq(sagas.machineVersion, kind.version));
}

export function createSagaLog(db: Db): SagaLog {
  return {
    async create(saga: NewSaga) {
      try {
        await db.$client.execute(
          INSERT_SAGA.sql,
          INSERT_SAGA.bind({
            gid: saga.gid,
            type: saga.type,
            machineVersion: saga.machineVersion,
            input: saga.input,
            requestFingerprint: saga.requestFingerprint,
            subject: saga.subject,
            owner: saga.owner,
            leaseGeneration: FIRST_GENERATION,
            leaseMicros: saga.leaseMs * 1000,
            ...progressValues(saga),
          }),
        );
        return 'created';
      } catch (error) {
        if (isDuplicateKey(error)) return 'exists';
        translateDbError(error);
      }
    },

    save: (gid, lease, progress) =>
      dbCall(async () => {
        const [result] = await db.$client.execute<ResultSetHeader>(
          UPDATE_PROGRESS.sql,
          UPDATE_PROGRESS.bind({
            ...progressValues(progress),
            gid,
            owner: lease.owner,
            generation: lease.generation,
          }),
        );
        // mysql2 asks for found rows, so an unchanged row still counts: 0 means someone else owns it now.
        return result.affectedRows === 1;
      }),

    get: (gid) =>
      dbCall(async () => {
        const [row] = await db.select().from(sagas).where(eq(sagas.gid, gid));
        return row === undefined ? undefined : toRecord(row);
      }),

    renewLeases: (owner, leaseMs) =>
      dbCall(async () => {
        const [result] = await db
          .update(sagas)
          .set({ leaseExpiresAt: leaseUntil(leaseMs) })
          .where(and(eq(sagas.owner, owner), isActive));
        return result.affectedRows;
      }),

    claimExpired: (owner, leaseMs, limit, runnable) =>
      dbCall(async () => {
        if (runnable.length === 0) return [];
        const expired = and(
          isActive,
          or(isNull(sagas.leaseExpiresAt), lt(sagas.leaseExpiresAt, sql`NOW(3)`)),
          or(...runnable.map((kind) => runnableBy(kind))),
        );
        const candidates = await db
          .select({ gid: sagas.gid })
          .from(sagas)
          .where(expired)
          .orderBy(sagas.leaseExpiresAt)
          .limit(limit);
        if (candidates.length === 0) return [];
        const gids = candidates.map((candidate) => candidate.gid);
        // The expiry is checked again by the UPDATE itself: of two processes racing for one saga, the
        // second finds the lease renewed by the first and takes nothing.
        await db
          .update(sagas)
          .set({
            owner,
            leaseGeneration: sql`${sagas.leaseGeneration} + 1`,
            leaseExpiresAt: leaseUntil(leaseMs),
          })
          .where(and(inArray(sagas.gid, gids), expired));
        const rows = await db
          .select()
          .from(sagas)
          .where(and(inArray(sagas.gid, gids), eq(sagas.owner, owner), isActive));
        return rows.map(toRecord);
      }),

    release: (owner, gids) =>
      dbCall(async () => {
        if (gids?.length === 0) return 0;
        const [result] = await db
          .update(sagas)
          .set({ owner: null, leaseExpiresAt: null })
          .where(and(eq(sagas.owner, owner), isActive, gids ? inArray(sagas.gid, [...gids]) : undefined));
        return result.affectedRows;
      }),

    stillOwned: (owner, gids) =>
      dbCall(async () => {
        if (gids.length === 0) return new Set<string>();
        const rows = await db
          .select({ gid: sagas.gid })
          .from(sagas)
          // Not only active ones: a saga whose final write just landed is still ours, not lost.
          .where(and(inArray(sagas.gid, [...gids]), eq(sagas.owner, owner)));
        return new Set(rows.map((row) => row.gid));
      }),
  };
}
