import { eq } from 'drizzle-orm';
import { BusinessFailure } from '../domain/errors.js';
import type { StoredUser } from '../domain/user.js';
import type { UserStore, UserWrites } from '../domain/user-service.js';
import { barrierGuard } from './barrier.js';
import type { Db, Executor } from './connection.js';
import { dbCall, isDuplicateKey } from './db-errors.js';
import { users } from './schema/user.js';

// Branch writes run for every saga: prepared SQL, not built by drizzle per call (bench/NOTES.md). The
// table and columns are schema/user.ts's.
const INSERT_USER = 'INSERT INTO user (id, name, gender, password_hash) VALUES (?, ?, ?, ?)';
const DELETE_USER = 'DELETE FROM user WHERE id = ?';

function userWrites(tx: Executor): UserWrites {
  return {
    async insert(user) {
      try {
        await tx.$client.execute(INSERT_USER, [user.id, user.name, user.gender, user.passwordHash ?? null]);
      } catch (error) {
        if (isDuplicateKey(error))
          throw new BusinessFailure('duplicate_user', `user ${user.id} already exists`);
        throw error;
      }
    },
    async deleteById(id) {
      await tx.$client.execute(DELETE_USER, [id]);
    },
  };
}

export function createUserStore(db: Db): UserStore {
  return {
    branches: barrierGuard(db, userWrites),

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
