import { eq } from 'drizzle-orm';
import { BusinessFailure } from '../domain/errors.js';
import type { UserScore } from '../domain/score.js';
import type { ScoreStore, ScoreWrites } from '../domain/score-service.js';
import { barrierGuard } from './barrier.js';
import type { Db, Executor } from './connection.js';
import { dbCall, isDuplicateKey } from './db-errors.js';
import { userScores } from './schema/score.js';

// Prepared SQL for the branch writes, as in user-store.ts; the columns are schema/score.ts's.
const INSERT_SCORE = 'INSERT INTO user_score (user_id, score) VALUES (?, ?)';
const DELETE_SCORE = 'DELETE FROM user_score WHERE user_id = ?';

function scoreWrites(tx: Executor): ScoreWrites {
  return {
    async insert(score) {
      try {
        await tx.$client.execute(INSERT_SCORE, [score.userId, score.score]);
      } catch (error) {
        if (isDuplicateKey(error)) {
          throw new BusinessFailure('duplicate_score', `user ${score.userId} already has a score`);
        }
        throw error;
      }
    },
    async deleteByUserId(userId) {
      await tx.$client.execute(DELETE_SCORE, [userId]);
    },
  };
}

export function createScoreStore(db: Db): ScoreStore {
  return {
    branches: barrierGuard(db, scoreWrites),

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
