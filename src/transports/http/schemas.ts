import { Type } from '@fastify/type-provider-typebox';
import { type ErrorCode, errorCatalog } from '../../domain/errors.js';
import { GENDER_MAX, NAME_MAX } from '../../domain/user.js';
import { statusOfCode } from './error-status.js';

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

/** The Retry-After header of a 429 or 503 (the limit's window, an overload): documented in OpenAPI. */
export const RetryAfter = {
  'retry-after': Type.Integer({ minimum: 1, description: 'Seconds to wait before trying again' }),
};

/** Statuses whose answers say when to come back. */
const RETRYABLE_STATUSES = new Set([429]);

/** "`code`: message; …" for OpenAPI descriptions. */
export function codesText(...codes: ErrorCode[]): string {
  return codes.map((code) => `\`${code}\`: ${errorCatalog[code].message}`).join('; ');
}

/**
 * Error answers for the codes a route can give, grouped by the status each code maps to (the one
 * mapping in error-status.ts), each documented in the OpenAPI description: "`code`: message".
 */
export function errorsOf(...codes: ErrorCode[]): Record<number, typeof ErrorEnvelope> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = statusOfCode(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<number, typeof ErrorEnvelope> = {};
  for (const [status, list] of byStatus) {
    responses[status] = Type.Object(
      { error: ErrorInfoSchema },
      {
        description: codesText(...list),
        ...(RETRYABLE_STATUSES.has(status) ? { headers: RetryAfter } : {}),
      },
    );
  }
  return responses;
}

/** 4xx/5xx answers every route can give; routes add their own. */
export const commonErrors = errorsOf(
  'invalid_argument',
  'payload_too_large',
  'unsupported_media_type',
  'internal',
  'unavailable',
);
