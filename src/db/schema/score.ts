import { sql } from 'drizzle-orm';
import { bigint, datetime, int, mysqlTable } from 'drizzle-orm/mysql-core';

/** The tutorial's `user_score` table: one score per user. */
export const userScores = mysqlTable('user_score', {
  id: bigint('id', { mode: 'number' }).autoincrement().primaryKey(),
  userId: bigint('user_id', { mode: 'number' }).notNull().unique('uniq_user_score_user_id'),
  score: int('score').notNull(),
  createdAt: datetime('created_at', { mode: 'date', fsp: 3 }).notNull().default(sql`CURRENT_TIMESTAMP(3)`),
});
