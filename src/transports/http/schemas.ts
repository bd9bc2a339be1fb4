import { Type } from '@fastify/type-provider-typebox';
import { GENDER_MAX, NAME_MAX } from '../../domain/user.js';

export const ErrorInfoSchema = Type.Object({
  code: Type.String({ description: 'Stable error code (see README: error codes)' }),
  message: Type.String(),
});

/** The envelope every error answer has. */
export const ErrorEnvelope = Type.Object({ error: ErrorInfoSchema }, { description: 'An error' });

export const UserId = Type.Integer({
  minimum: 1,
  maximum: Number.MAX_SAFE_INTEGER,
  description: 'User id (≤ 2^53−1)',
});

export const UserSchema = Type.Object({
  id: UserId,
  name: Type.String({ maxLength: NAME_MAX }),
  gender: Type.String({ maxLength: GENDER_MAX }),
});

/** 4xx/5xx answers every route can give; routes add their own. */
export const commonErrors = {
  400: ErrorEnvelope,
  413: ErrorEnvelope,
  415: ErrorEnvelope,
  500: ErrorEnvelope,
  503: ErrorEnvelope,
};
