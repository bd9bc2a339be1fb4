import { and, eq, inArray, isNull, lt, or, type SQL, sql } from 'drizzle-orm';
import type { ErrorInfo } from '../domain/errors.js';
import {
  activeSagaStatuses,
  isFinalStatus,
  type NewSaga,
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

function progressColumns(progress: SagaProgress) {
  return {
    status: progress.status,
    state: progress.state,
    snapshot: progress.snapshot,
    results: progress.results,
    attempts: progress.attempts,
    nextAttemptAt: progress.nextAttemptAt,
    lastError: progress.lastError,
    error: progress.error,
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
    leaseExpiresAt: row.leaseExpiresAt,
    finishedAt: row.finishedAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export function createSagaLog(db: Db): SagaLog {
  return {
    async create(saga: NewSaga) {
      try {
        await db.insert(sagas).values({
          gid: saga.gid,
          type: saga.type,
          machineVersion: saga.machineVersion,
          input: saga.input,
          requestFingerprint: saga.requestFingerprint,
          subject: saga.subject,
          owner: saga.owner,
          leaseExpiresAt: leaseUntil(saga.leaseMs),
          finishedAt: isFinalStatus(saga.status) ? sql`NOW(3)` : null,
          ...progressColumns(saga),
        });
        return 'created';
      } catch (error) {
        if (isDuplicateKey(error)) return 'exists';
        translateDbError(error);
      }
    },

    save: (gid, owner, progress) =>
      dbCall(async () => {
        const [result] = await db
          .update(sagas)
          .set({
            ...progressColumns(progress),
            updatedAt: sql`NOW(3)`,
            // Kept once set: a final state written twice does not move the saga in the throughput buckets.
            finishedAt: isFinalStatus(progress.status) ? sql`COALESCE(${sagas.finishedAt}, NOW(3))` : null,
          })
          .where(and(eq(sagas.gid, gid), eq(sagas.owner, owner)));
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

    claimExpired: (owner, leaseMs, limit) =>
      dbCall(async () => {
        const expired = and(
          isActive,
          or(isNull(sagas.leaseExpiresAt), lt(sagas.leaseExpiresAt, sql`NOW(3)`)),
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
          .set({ owner, leaseExpiresAt: leaseUntil(leaseMs) })
          .where(and(inArray(sagas.gid, gids), expired));
        const rows = await db
          .select()
          .from(sagas)
          .where(and(inArray(sagas.gid, gids), eq(sagas.owner, owner), isActive));
        return rows.map(toRecord);
      }),

    release: (owner) =>
      dbCall(async () => {
        const [result] = await db
          .update(sagas)
          .set({ owner: null, leaseExpiresAt: null })
          .where(and(eq(sagas.owner, owner), isActive));
        return result.affectedRows;
      }),

    stillOwned: (owner, gids) =>
      dbCall(async () => {
        if (gids.length === 0) return new Set<string>();
        const rows = await db
          .select({ gid: sagas.gid })
          .from(sagas)
          .where(and(inArray(sagas.gid, [...gids]), eq(sagas.owner, owner), isActive));
        return new Set(rows.map((row) => row.gid));
      }),
  };
}
