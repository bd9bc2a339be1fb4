import type { ScoreService } from '../../domain/score-service.js';
import { parseUserId } from '../../domain/user.js';
import type { UserIdRequest } from './generated/score/UserIdRequest.js';
import type { UserScoreClient } from './generated/score/UserScore.js';
import type { UserScoreRequest } from './generated/score/UserScoreRequest.js';
import type { UserScoreResponse__Output } from './generated/score/UserScoreResponse.js';
import type { ServiceTarget } from './grpc-address.js';
import {
  barrierOutcome,
  type ClientSettings,
  type Closable,
  callUnary,
  channelOptions,
  type UnaryMethod,
} from './grpc-client.js';
import { branchMetadata } from './metadata.js';
import { loadProtos } from './protos.js';

/** The domain's ScoreService over gRPC. */
export function createScoreClient(target: ServiceTarget, settings: ClientSettings): ScoreService & Closable {
  const { score } = loadProtos();
  const client = new score.UserScore(
    target.target,
    settings.credentials,
    channelOptions(),
  ) as unknown as UserScoreClient;
  // Explicit signatures pick the (request, metadata, options, callback) overload of each generated method.
  const saveUserScore: UnaryMethod<UserScoreRequest, UserScoreResponse__Output> = (r, m, o, c) =>
    client.saveUserScore(r, m, o, c);
  const saveUserScoreCallback: UnaryMethod<UserScoreRequest, UserScoreResponse__Output> = (r, m, o, c) =>
    client.saveUserScoreCallback(r, m, o, c);
  const getUserScore: UnaryMethod<UserIdRequest, UserScoreResponse__Output> = (r, m, o, c) =>
    client.getUserScore(r, m, o, c);

  return {
    async saveUserScore(branch, input, options) {
      const response = await callUnary(
        settings,
        'score.UserScore/saveUserScore',
        saveUserScore,
        { userId: String(input.userId), score: input.score },
        branchMetadata(branch),
        options?.signal,
      );
      return {
        outcome: barrierOutcome(response.barrier),
        value: { userId: input.userId, score: input.score },
      };
    },

    async saveUserScoreCallback(branch, target_, options) {
      const response = await callUnary(
        settings,
        'score.UserScore/saveUserScoreCallback',
        saveUserScoreCallback,
        { userId: String(target_.userId) },
        branchMetadata(branch),
        options?.signal,
      );
      return { outcome: barrierOutcome(response.barrier), value: null };
    },

    async getUserScore(userId) {
      const response = await callUnary(settings, 'score.UserScore/getUserScore', getUserScore, {
        userId: String(userId),
      });
      return { userId: parseUserId(response.userId, 'userId'), score: response.score };
    },

    close: () => client.close(),
  };
}
