import { InvalidArgument } from './errors.js';
import { checkUserId } from './user.js';

export interface UserScore {
  readonly userId: number;
  readonly score: number;
}

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

/** Scores are the tutorial's int32 (`UserScoreRequest.score`). */
export function checkScore(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
    throw new InvalidArgument(`score must be an integer from ${INT32_MIN} to ${INT32_MAX}`);
  }
  return value;
}

export function checkUserScore(input: UserScore): UserScore {
  return { userId: checkUserId(input.userId, 'userId'), score: checkScore(input.score) };
}
