import { eq, sql } from 'drizzle-orm';
import { BusinessFailure } from '../domain/errors.js';
import type { StoredUser } from '../domain/user.js';
import type { UserStore, UserWrites } from '../domain/user-service.js';
import { barrierGuard } from './barrier.js';
import type { Db, Executor } from './connection.js';
import { dbCall, isDuplicateKey } from './db-errors.js';
import { users } from './schema/user.js';
import { sqlBuilder, statement } from './statement.js';

// Branch writes run for every saga: built once from the schema, run as prepared statements (statement.ts).
const INSERT_USER = statement<'id' | 'name' | 'gender' | 'passwordHash'>(
  sqlBuilder.insert(users).values({
    id: sql.placeholder('id'),
    name: sql.placeholder('name'),
    gender: sql.placeholder('gender'),
    passwordHash: sql.placeholder('passwordHash'),
  }),
);
const DELETE_USER = statement<'id'>(sqlBuilder.delete(users).where(eq(users.id, sql.placeholder('id'))));

function userWrites(tx: Executor): UserWrites {
  return {
    async insert(user) {
      try {
        await tx.$client.execute(
          INSERT_USER.sql,
          INSERT_USER.bind({
            id: user.id,
            name: user.name,
            gender: user.gender,
            passwordHash: user.passwordHash ?? null,
          }),
        );
      } catch (error) {
        if (isDuplicateKey(error))
          throw new BusinessFailure('duplicate_user', `user ${user.id} already exists`);
        throw error;
      }
    },
    async deleteById(id) {
      await tx.$client.execute(DELETE_USER.sql, DELETE_USER.bind({ id }));
    },
  };
}

export function createUserStore(db: Db): UserStore {
  return {
    // userWrites only writes: a branch goes in one packet (barrier.ts).
    branches: barrierGuard(db, userWrites, { packed: true }),

    findById: (id) =>
      dbCall(async (): Promise<StoredUser | undefined> => {
        const [row] = await db
          .select({ id: users.id, name: users.name, gender: users.gender, createdAt: users.createdAt })
          .from(users)
          .where(eq(users.id, id));
        return row;
      }),

    findPasswordHash: (id) =>
      dbCall(async () => {
        const [row] = await db.select({ hash: users.passwordHash }).from(users).where(eq(users.id, id));
        return row === undefined ? undefined : row.hash;
      }),
  };
}
