import { eq, sql } from 'drizzle-orm';
import { BusinessFailure } from '../domain/errors.js';
import type { UserScore } from '../domain/score.js';
import type { ScoreStore, ScoreWrites } from '../domain/score-service.js';
import { barrierGuard } from './barrier.js';
import type { Db, Executor } from './connection.js';
import { dbCall, isDuplicateKey } from './db-errors.js';
import { userScores } from './schema/score.js';
import { sqlBuilder, statement } from './statement.js';

// Branch writes, built once from the schema as in user-store.ts.
const INSERT_SCORE = statement<'userId' | 'score'>(
  sqlBuilder
    .insert(userScores)
    .values({ userId: sql.placeholder('userId'), score: sql.placeholder('score') }),
);
const DELETE_SCORE = statement<'userId'>(
  sqlBuilder.delete(userScores).where(eq(userScores.userId, sql.placeholder('userId'))),
);

function scoreWrites(tx: Executor): ScoreWrites {
  return {
    async insert(score) {
      try {
        await tx.$client.execute(INSERT_SCORE.sql, INSERT_SCORE.bind(score));
      } catch (error) {
        if (isDuplicateKey(error)) {
          throw new BusinessFailure('duplicate_score', `user ${score.userId} already has a score`);
        }
        throw error;
      }
    },
    async deleteByUserId(userId) {
      await tx.$client.execute(DELETE_SCORE.sql, DELETE_SCORE.bind({ userId }));
    },
  };
}

export function createScoreStore(db: Db): ScoreStore {
  return {
    // scoreWrites only writes: a branch goes in one packet (barrier.ts).
    branches: barrierGuard(db, scoreWrites, { packed: true }),

    findByUserId: (userId) =>
      dbCall(async (): Promise<UserScore | undefined> => {
        const [row] = await db
          .select({ userId: userScores.userId, score: userScores.score })
          .from(userScores)
          .where(eq(userScores.userId, userId));
        return row;
      }),
  };
}
