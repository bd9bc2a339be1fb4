import { and, eq, inArray, isNull, lt, or, type SQL, sql } from 'drizzle-orm';
import type { ResultSetHeader } from 'mysql2/promise';
import {
  activeSagaStatuses,
  type ClaimedSaga,
  FIRST_GENERATION,
  isFinalStatus,
  type Lease,
  LeaseLost,
  type NewSaga,
  type ProgressRecord,
  type RunnableType,
  type SagaLog,
  type SagaMove,
  type SagaRecord,
  type SagaStatus,
} from '../domain/saga.js';
import type { Db, Executor } from './connection.js';
import { dbCall, isDuplicateKey, translateDbError } from './db-errors.js';
import { sagaFinishedPerMinute, sagas } from './schema/saga.js';
import { sqlBuilder, statement } from './statement.js';

const isActive = inArray(sagas.status, [...activeSagaStatuses]);

/** Lease expiry computed by the database clock, so coordinators on different hosts agree on it. */
function leaseUntil(leaseMs: number): SQL {
  return sql`NOW(3) + INTERVAL ${leaseMs * 1000} MICROSECOND`;
}

const movePlaceholders = {
  status: sql.placeholder('status'),
  state: sql.placeholder('state'),
  progress: sql.placeholder('progress'),
  detail: sql.placeholder('detail'),
};
type MoveName = keyof typeof movePlaceholders;

// create and save run for every saga (inside the branch transactions when the log rides in them): built
// once from the schema, run as prepared statements (statement.ts). The lease expiry and finished_at are
// computed by the database's clock.
const INSERT_SAGA = statement<
  | MoveName
  | 'gid'
  | 'type'
  | 'machineVersion'
  | 'input'
  | 'requestFingerprint'
  | 'subject'
  | 'traceContext'
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
    traceContext: sql.placeholder('traceContext'),
    owner: sql.placeholder('owner'),
    leaseGeneration: sql.placeholder('leaseGeneration'),
    leaseExpiresAt: sql`NOW(3) + INTERVAL ${sql.placeholder('leaseMicros')} MICROSECOND`,
    finishedAt: sql`IF(${sql.placeholder('final')}, NOW(3), NULL)`,
    ...movePlaceholders,
  }),
);
/** A move's update: `withInput` also rewrites the input (a final move drops the secrets it carried). */
function updateMove(withInput: boolean) {
  return statement<MoveName | 'final' | 'gid' | 'owner' | 'generation' | 'input'>(
    sqlBuilder
      .update(sagas)
      .set({
        // set() takes SQL, not bare placeholders: each is a parameter encoded by its column's type.
        status: sql`${sql.param(movePlaceholders.status, sagas.status)}`,
        state: sql`${sql.param(movePlaceholders.state, sagas.state)}`,
        progress: sql`${sql.param(movePlaceholders.progress, sagas.progress)}`,
        detail: sql`${sql.param(movePlaceholders.detail, sagas.detail)}`,
        ...(withInput ? { input: sql`${sql.param(sql.placeholder('input'), sagas.input)}` } : {}),
        // finished_at is kept once set: a final state written twice does not move the saga in the counts.
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
}
const UPDATE_MOVE = updateMove(false);
const UPDATE_MOVE_AND_INPUT = updateMove(true);

function moveValues(move: SagaMove): Record<MoveName | 'final', unknown> {
  return {
    status: move.status,
    state: move.state,
    progress: move.progress,
    detail: move.detail,
    final: isFinalStatus(move.status) ? 1 : 0,
  };
}

function insertValues(saga: NewSaga) {
  return INSERT_SAGA.bind({
    gid: saga.gid,
    type: saga.type,
    machineVersion: saga.machineVersion,
    input: saga.rewrittenInput ?? saga.input,
    requestFingerprint: saga.requestFingerprint,
    subject: saga.subject,
    traceContext: saga.traceContext,
    owner: saga.owner,
    leaseGeneration: FIRST_GENERATION,
    leaseMicros: saga.leaseMs * 1000,
    ...moveValues(saga),
  });
}

/** The update of a move, and its values. */
function update(gid: string, lease: Lease, move: SagaMove): [string, ReturnType<typeof UPDATE_MOVE.bind>] {
  const values = { ...moveValues(move), gid, owner: lease.owner, generation: lease.generation };
  return move.rewrittenInput === undefined
    ? [UPDATE_MOVE.sql, UPDATE_MOVE.bind({ ...values, input: null })]
    : [UPDATE_MOVE_AND_INPUT.sql, UPDATE_MOVE_AND_INPUT.bind({ ...values, input: move.rewrittenInput })];
}

/** The connection of a branch's transaction, as the barrier hands it to riders (db/barrier.ts). */
function connectionOf(transaction: unknown): Executor['$client'] {
  return (transaction as Executor).$client;
}

type Row = typeof sagas.$inferSelect;

function toRecord(row: Row): SagaRecord {
  return {
    gid: row.gid,
    type: row.type,
    machineVersion: row.machineVersion,
    status: row.status as SagaStatus,
    state: row.state,
    progress: row.progress as ProgressRecord,
    detail: row.detail ?? null,
    input: row.input,
    requestFingerprint: row.requestFingerprint,
    subject: row.subject,
    traceContext: row.traceContext,
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
        await db.$client.execute(INSERT_SAGA.sql, insertValues(saga));
        return 'created';
      } catch (error) {
        if (isDuplicateKey(error)) return 'exists';
        translateDbError(error);
      }
    },

    save: (gid, lease, move) =>
      dbCall(async () => {
        const [result] = await db.$client.execute<ResultSetHeader>(...update(gid, lease, move));
        // mysql2 asks for found rows, so an unchanged row still counts: 0 means someone else owns it now.
        return result.affectedRows === 1;
      }),

    // Inside a branch's transaction: errors are the branch's to translate (db/barrier.ts); a saga row
    // that exists already is a duplicate key, which rolls the branch back like any other failure.
    async createWithin(transaction, saga) {
      await connectionOf(transaction).execute(INSERT_SAGA.sql, insertValues(saga));
    },

    async saveWithin(transaction, gid, lease, move) {
      const [result] = await connectionOf(transaction).execute<ResultSetHeader>(...update(gid, lease, move));
      if (result.affectedRows !== 1) throw new LeaseLost(gid);
    },

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
          .select({ gid: sagas.gid, owner: sagas.owner })
          .from(sagas)
          .where(expired)
          .orderBy(sagas.leaseExpiresAt)
          .limit(limit);
        if (candidates.length === 0) return [];
        // Whose each saga was, for the resume's reason (a released saga has no owner).
        const from = new Map(candidates.map((candidate) => [candidate.gid, candidate.owner]));
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
        return rows.map((row): ClaimedSaga => ({ ...toRecord(row), claimedFrom: from.get(row.gid) ?? null }));
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

    countFinished: (owner, counts) =>
      dbCall(async () => {
        if (counts.length === 0) return;
        // The minute by the database's clock, as finished_at is; one row per process, so processes
        // adding at once never wait on each other.
        await db
          .insert(sagaFinishedPerMinute)
          .values(
            counts.map((entry) => ({
              minute: sql`FROM_UNIXTIME(FLOOR(UNIX_TIMESTAMP(NOW()) / 60) * 60)`,
              type: entry.type,
              status: entry.status,
              owner,
              count: entry.count,
            })),
          )
          .onDuplicateKeyUpdate({
            set: { count: sql`${sagaFinishedPerMinute.count} + VALUES(${sagaFinishedPerMinute.count})` },
          });
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
