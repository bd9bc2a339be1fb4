import { sql } from 'drizzle-orm';
import {
  bigint,
  customType,
  datetime,
  index,
  int,
  mysqlTable,
  primaryKey,
  varchar,
} from 'drizzle-orm/mysql-core';
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
 * The coordinator's log: one row per saga, small on purpose (it is written inside the branch
 * transactions of the monolith, twice per clean saga). `state` is the machine's state path and
 * `progress` the rest of what a resumed saga needs (its context without the input, which is written
 * once, and without the timeline); `detail` holds the timeline, written only once a step failed or a
 * compensation ran. `owner`/`lease_expires_at` say which coordinator process works the saga and until
 * when; `lease_generation` grows with every claim and fences every write (see domain/saga.ts, Lease).
 */
export const sagas = mysqlTable(
  'saga',
  {
    gid: varchar('gid', { length: 128 }).primaryKey(),
    type: varchar('type', { length: 64 }).notNull(),
    machineVersion: int('machine_version').notNull(),
    status: varchar('status', { length: 16, enum: sagaStatuses }).notNull(),
    state: varchar('state', { length: 128 }).notNull(),
    progress: jsonText('progress').notNull(),
    input: jsonText('input').notNull(),
    detail: jsonText('detail'),
    owner: varchar('owner', { length: 128 }),
    leaseGeneration: bigint('lease_generation', { mode: 'number' }).notNull().default(1),
    leaseExpiresAt: datetime('lease_expires_at', { mode: 'date', fsp: 3 }),
    requestFingerprint: varchar('request_fingerprint', { length: 64 }),
    /** The saga's business key, for search (register: the user id); set from its type at create. */
    subject: varchar('subject', { length: 128 }),
    /**
     * The W3C traceparent of the trace the saga was begun in (55 characters; null without tracing), so a
     * process that resumes it links its spans to that trace.
     */
    traceContext: varchar('trace_context', { length: 64 }),
    /** When the saga became final (the database clock); null while it runs. */
    finishedAt: datetime('finished_at', { mode: 'date', fsp: 3 }),
    createdAt: datetime('created_at', { mode: 'date', fsp: 3 }).notNull().default(sql`CURRENT_TIMESTAMP(3)`),
    updatedAt: datetime('updated_at', { mode: 'date', fsp: 3 }).notNull().default(sql`CURRENT_TIMESTAMP(3)`),
  },
  // Two secondary indexes, no more: each one is written with every saga. InnoDB appends the primary key
  // (gid) to each, so both read newest first by (created_at, gid) with no sort.
  (table) => [
    // listings by status and type, recovery (the active statuses), counts by status and type read from
    // this index alone, the oldest running saga
    index('idx_saga_status_type_created').on(table.status, table.type, table.createdAt),
    // search by business key (register: user id), newest first
    index('idx_saga_subject_created').on(table.subject, table.createdAt),
  ],
);

/**
 * Sagas finished per minute, by type and status: the dashboard's throughput and abort rate. Each
 * coordinator process counts the sagas it finishes and adds its counts every few seconds under its own
 * `owner`, so no two processes ever wait on one row, and no saga pays a statement for it.
 */
export const sagaFinishedPerMinute = mysqlTable(
  'saga_finished_minute',
  {
    minute: datetime('minute', { mode: 'date' }).notNull(),
    type: varchar('type', { length: 64 }).notNull(),
    status: varchar('status', { length: 16, enum: sagaStatuses }).notNull(),
    owner: varchar('owner', { length: 128 }).notNull(),
    count: int('count').notNull(),
  },
  (table) => [primaryKey({ columns: [table.minute, table.type, table.status, table.owner] })],
);
