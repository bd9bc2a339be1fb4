import { describe, expect, it } from 'vitest';
import {
  domainError,
  errorCatalog,
  errorCodes,
  RateLimited,
  TransientFailure,
} from '../../../src/domain/errors.js';
import { toHttpError } from '../../../src/transports/http/error-status.js';

describe('toHttpError', () => {
  it.each(errorCodes)('maps %s to an HTTP status and keeps its code', (code) => {
    const { status, body } = toHttpError(domainError(code, 'detail'));
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(600);
    expect(body.error.code).toBe(code);
  });

  it('uses the statuses the API documents', () => {
    const statusOf = (code: Parameters<typeof domainError>[0]) => toHttpError(domainError(code)).status;
    expect(statusOf('duplicate_user')).toBe(409);
    expect(statusOf('score_rejected')).toBe(422);
    expect(statusOf('idempotency_key_reused')).toBe(422);
    expect(statusOf('unavailable')).toBe(503);
    expect(statusOf('user_not_found')).toBe(404);
    expect(statusOf('invalid_argument')).toBe(400);
    expect(statusOf('invalid_credentials')).toBe(401);
    expect(statusOf('rate_limited')).toBe(429);
    expect(statusOf('overloaded')).toBe(503);
    expect(statusOf('registration_incomplete')).toBe(409);
    expect(statusOf('internal')).toBe(500);
  });

  it('says when to come back for a limit or an overload, in whole seconds', () => {
    expect(toHttpError(new RateLimited('slow down', { retryAfterSeconds: 2.2 })).headers).toEqual({
      'retry-after': '3',
    });
    expect(
      toHttpError(new TransientFailure('overloaded', undefined, { retryAfterSeconds: 0.1 })).headers,
    ).toEqual({ 'retry-after': '1' });
    expect(toHttpError(domainError('unavailable')).headers).toBeUndefined();
  });

  it('hides the message of an unexpected error from the caller', () => {
    const { status, body, unexpected } = toHttpError(new TypeError('secret internals'));
    expect(status).toBe(500);
    expect(body.error).toEqual({ code: 'internal', message: errorCatalog.internal.message });
    expect(unexpected).toBe(true);
  });

  it('maps fastify’s own client errors by status', () => {
    expect(toHttpError({ statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' }).body.error.code).toBe(
      'payload_too_large',
    );
    expect(toHttpError({ statusCode: 415 }).body.error.code).toBe('unsupported_media_type');
    expect(
      toHttpError({ statusCode: 400, validation: [], message: 'body/name must be string' }).body.error,
    ).toEqual({
      code: 'invalid_argument',
      message: 'body/name must be string',
    });
  });

  it('answers a path the static file server refuses as one nothing serves', () => {
    expect(toHttpError({ statusCode: 403, code: 'FST_STATIC_FORBIDDEN_PATH', message: 'Forbidden' })).toEqual(
      {
        status: 404,
        body: { error: { code: 'not_found', message: 'not found' } },
        unexpected: false,
      },
    );
  });
});
