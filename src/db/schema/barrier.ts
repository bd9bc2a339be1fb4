import { sql } from 'drizzle-orm';
import { bigint, datetime, index, mysqlTable, uniqueIndex, varchar } from 'drizzle-orm/mysql-core';

/**
 * DTM's branch barrier table, column for column and key for key (dtm-labs/dtm
 * sqls/dtmcli.barrier.mysql.sql), so a DTM server and our coordinator can share one.
 */
export const barrier = mysqlTable(
  'barrier',
  {
    id: bigint('id', { mode: 'number' }).autoincrement().primaryKey(),
    transType: varchar('trans_type', { length: 45 }).default(''),
    gid: varchar('gid', { length: 128 }).default(''),
    branchId: varchar('branch_id', { length: 128 }).default(''),
    op: varchar('op', { length: 45 }).default(''),
    barrierId: varchar('barrier_id', { length: 45 }).default(''),
    // The op whose call wrote this row: 'compensate' in an action's row means a null compensation got there first.
    reason: varchar('reason', { length: 45 }).default(''),
    createTime: datetime('create_time').default(sql`now()`),
    updateTime: datetime('update_time').default(sql`now()`),
  },
  (table) => [
    index('create_time').on(table.createTime),
    index('update_time').on(table.updateTime),
    uniqueIndex('uniq_barrier').on(table.gid, table.branchId, table.op, table.barrierId),
  ],
);
