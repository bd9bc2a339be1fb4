import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  BusinessFailure,
  DomainError,
  domainError,
  errorCodes,
  RateLimited,
  TransientFailure,
} from '../../../src/domain/errors.js';
import { fromGrpcError, toGrpcStatus } from '../../../src/transports/grpc/error-status.js';

/** What a client sees for a status the server sent: code, details and trailing metadata. */
function asReceived(status: ReturnType<typeof toGrpcStatus>): Partial<grpc.ServiceError> {
  return { code: status.code, details: status.details, metadata: status.metadata };
}

describe('gRPC status mapping', () => {
  it.each(errorCodes)('maps %s to a status and back to the same error', (code) => {
    const original = domainError(code, 'some detail');
    const status = toGrpcStatus(original);
    const restored = fromGrpcError(asReceived(status));
    expect(restored).toBeInstanceOf(DomainError);
    expect(restored.code).toBe(code);
    expect(restored.kind).toBe(original.kind);
    expect(restored.constructor).toBe(original.constructor);
  });

  it.each([
    ['duplicate_user', grpc.status.ABORTED],
    ['score_rejected', grpc.status.ABORTED],
    ['branch_compensated', grpc.status.ABORTED],
    ['unavailable', grpc.status.UNAVAILABLE],
    ['invalid_argument', grpc.status.INVALID_ARGUMENT],
    ['user_not_found', grpc.status.NOT_FOUND],
    ['unauthenticated', grpc.status.UNAUTHENTICATED],
    ['internal', grpc.status.INTERNAL],
  ] as const)('answers %s with %s, as DTM reads statuses', (code, status) => {
    expect(toGrpcStatus(domainError(code)).code).toBe(status);
  });

  it('carries retry-after across, so a limit met by a remote service reaches the HTTP caller', () => {
    const status = toGrpcStatus(new RateLimited('too many password checks', { retryAfterSeconds: 41.5 }));
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const restored = fromGrpcError(asReceived(status));
    expect(restored).toBeInstanceOf(RateLimited);
    expect(restored.retryAfterSeconds).toBe(42);
  });

  it('never answers ABORTED from a compensation', () => {
    const status = toGrpcStatus(new BusinessFailure('score_rejected'), { compensation: true });
    expect(status.code).toBe(grpc.status.INTERNAL);
  });

  it('hides the message of an unexpected error', () => {
    const status = toGrpcStatus(new TypeError('internals'));
    expect(status.code).toBe(grpc.status.INTERNAL);
    expect(status.details).not.toMatch(/internals/);
  });

  it.each([
    grpc.status.UNAVAILABLE,
    grpc.status.DEADLINE_EXCEEDED,
    grpc.status.INTERNAL,
    grpc.status.UNKNOWN,
    grpc.status.RESOURCE_EXHAUSTED,
  ])('treats status %s from a server that sends no code as transient', (code) => {
    expect(fromGrpcError({ code, details: 'x' })).toBeInstanceOf(TransientFailure);
  });

  it('treats ABORTED from a server that sends no code (a plain DTM branch) as a business refusal', () => {
    const error = fromGrpcError({ code: grpc.status.ABORTED, details: 'user score can not equal 10' });
    expect(error).toBeInstanceOf(BusinessFailure);
    expect(error.code).toBe('branch_refused');
  });

  it('does not trust a code that disagrees with the status', () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-error-code', 'duplicate_user');
    expect(fromGrpcError({ code: grpc.status.UNAVAILABLE, details: 'x', metadata })).toBeInstanceOf(
      TransientFailure,
    );
  });
});
