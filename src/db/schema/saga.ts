import { sql } from 'drizzle-orm';
import { bigint, customType, datetime, index, int, mysqlTable, varchar } from 'drizzle-orm/mysql-core';
import { sagaStatuses } from '../../domain/saga.js';

/**
 * JSON kept as text. MariaDB's JSON type is LONGTEXT with a CHECK (JSON_VALID(...)) that parses every
 * value written: about a quarter of the database's CPU per saga (bench/NOTES.md). Only the coordinator
 * writes these columns, from JSON.stringify, so the check could never fail.
 */
const jsonText = customType<{ data: unknown; driverData: string | null }>({
  dataType: () => 'longtext',
  // SQL NULL for a null value, not the text `null`.
  toDriver: (value) => (value === null || value === undefined ? null : JSON.stringify(value)),
  fromDriver: (value) => (typeof value === 'string' ? JSON.parse(value) : value),
});

/**
 * The coordinator's log: one row per saga, holding the XState persisted snapshot it resumes from.
 * `owner`/`lease_expires_at` say which coordinator process works the saga and until when;
 * `lease_generation` grows with every claim and fences every write (see domain/saga.ts, Lease).
 */
export const sagas = mysqlTable(
  'saga',
  {
    gid: varchar('gid', { length: 128 }).primaryKey(),
    type: varchar('type', { length: 64 }).notNull(),
    machineVersion: int('machine_version').notNull(),
    status: varchar('status', { length: 16, enum: sagaStatuses }).notNull(),
    state: varchar('state', { length: 128 }).notNull(),
    snapshot: jsonText('snapshot').notNull(),
    input: jsonText('input').notNull(),
    results: jsonText('results'),
    attempts: int('attempts').notNull().default(0),
    nextAttemptAt: datetime('next_attempt_at', { mode: 'date', fsp: 3 }),
    lastError: jsonText('last_error'),
    error: jsonText('error'),
    owner: varchar('owner', { length: 128 }),
    leaseGeneration: bigint('lease_generation', { mode: 'number' }).notNull().default(1),
    leaseExpiresAt: datetime('lease_expires_at', { mode: 'date', fsp: 3 }),
    requestFingerprint: varchar('request_fingerprint', { length: 64 }),
    /** The saga's business key, for search (register: the user id); set from the definition at create. */
    subject: varchar('subject', { length: 128 }),
    /** When the saga became final (the database clock); null while it runs. Throughput and abort rate. */
    finishedAt: datetime('finished_at', { mode: 'date', fsp: 3 }),
    createdAt: datetime('created_at', { mode: 'date', fsp: 3 }).notNull().default(sql`CURRENT_TIMESTAMP(3)`),
    updatedAt: datetime('updated_at', { mode: 'date', fsp: 3 }).notNull().default(sql`CURRENT_TIMESTAMP(3)`),
  },
  (table) => [
    // recovery: non-final sagas whose lease ran out
    index('idx_saga_recovery').on(table.status, table.leaseExpiresAt),
    // listings, newest first, optionally by status or type
    index('idx_saga_created').on(table.createdAt),
    index('idx_saga_status_created').on(table.status, table.createdAt),
    index('idx_saga_type_created').on(table.type, table.createdAt),
    // listings by status and type; also counts by status × type, read from this index alone
    index('idx_saga_status_type_created').on(table.status, table.type, table.createdAt),
    // search by business key (register: user id), newest first
    index('idx_saga_subject_created').on(table.subject, table.createdAt),
    // throughput and abort rate: finished sagas of the last minutes, read from this index alone
    index('idx_saga_finished').on(table.finishedAt, table.status),
  ],
);
