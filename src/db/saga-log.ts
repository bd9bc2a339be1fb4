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

const isActive = inArray(sagas.status, [...activeSagaStatuses]);

/** Lease expiry computed by the database clock, so coordinators on different hosts agree on it. */
function leaseUntil(leaseMs: number): SQL {
  return sql`NOW(3) + INTERVAL ${leaseMs * 1000} MICROSECOND`;
}

// create and save run for every saga: plain prepared SQL, not built by drizzle per call (see
// bench/NOTES.md). The columns are schema/saga.ts's; progressValues gives them in this order.
const PROGRESS_COLUMNS = 'status, state, snapshot, results, attempts, next_attempt_at, last_error, error';
const INSERT_SAGA = `INSERT INTO saga (gid, type, machine_version, input, request_fingerprint, subject, owner, lease_generation, lease_expires_at, finished_at, ${PROGRESS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NOW(3) + INTERVAL ? MICROSECOND, IF(?, NOW(3), NULL), ?, ?, ?, ?, ?, ?, ?, ?)`;
// finished_at is kept once set: a final state written twice does not move the saga in the throughput buckets.
const UPDATE_PROGRESS = `UPDATE saga SET ${PROGRESS_COLUMNS.split(', ')
  .map((column) => `${column} = ?`)
  .join(
    ', ',
  )}, finished_at = IF(?, COALESCE(finished_at, NOW(3)), NULL), updated_at = NOW(3) WHERE gid = ? AND owner = ? AND lease_generation = ?`;

function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

type SqlValue = string | number | Date | null;

function progressValues(progress: SagaProgress): SqlValue[] {
  return [
    progress.status,
    progress.state,
    JSON.stringify(progress.snapshot),
    json(progress.results),
    progress.attempts,
    progress.nextAttemptAt,
    json(progress.lastError),
    json(progress.error),
  ];
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
        await db.$client.execute(INSERT_SAGA, [
          saga.gid,
          saga.type,
          saga.machineVersion,
          JSON.stringify(saga.input),
          saga.requestFingerprint,
          saga.subject,
          saga.owner,
          FIRST_GENERATION,
          saga.leaseMs * 1000,
          isFinalStatus(saga.status) ? 1 : 0,
          ...progressValues(saga),
        ]);
        return 'created';
      } catch (error) {
        if (isDuplicateKey(error)) return 'exists';
        translateDbError(error);
      }
    },

    save: (gid, lease, progress) =>
      dbCall(async () => {
        const [result] = await db.$client.execute<ResultSetHeader>(UPDATE_PROGRESS, [
          ...progressValues(progress),
          isFinalStatus(progress.status) ? 1 : 0,
          gid,
          lease.owner,
          lease.generation,
        ]);
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
