import type { UserScore } from '../../domain/score.js';
import type { ScoreService } from '../../domain/score-service.js';
import { parseUserId } from '../../domain/user.js';
import type { UserScoreHandlers } from './generated/score/UserScore.js';
import type { UserScoreResponse } from './generated/score/UserScoreResponse.js';
import { compensationBranch, forwardBranch, type HandlerContext, unary } from './unary.js';

function response(score: UserScore, barrier = ''): UserScoreResponse {
  return { userId: String(score.userId), score: score.score, barrier };
}

/** The `score.UserScore` gRPC service over the domain's ScoreService. */
export function scoreHandlers(scores: ScoreService, context: HandlerContext): UserScoreHandlers {
  return {
    saveUserScore: unary(context, 'score.UserScore/saveUserScore', async (request, metadata) => {
      const branch = forwardBranch(metadata);
      const reply = await scores.saveUserScore(branch, {
        userId: parseUserId(request.userId, 'userId'),
        score: request.score,
      });
      return response(reply.value, reply.outcome);
    }),

    saveUserScoreCallback: unary(
      context,
      'score.UserScore/saveUserScoreCallback',
      async (request, metadata) => {
        const branch = compensationBranch(metadata);
        const userId = parseUserId(request.userId, 'userId');
        const reply = await scores.saveUserScoreCallback(branch, { userId });
        return { userId: String(userId), score: 0, barrier: reply.outcome };
      },
      { compensation: true },
    ),

    getUserScore: unary(context, 'score.UserScore/getUserScore', async (request) =>
      response(await scores.getUserScore(parseUserId(request.userId, 'userId'))),
    ),
  };
}
