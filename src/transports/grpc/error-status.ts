import * as grpc from '@grpc/grpc-js';
import {
  BusinessFailure,
  DomainError,
  domainError,
  type ErrorKind,
  errorCatalog,
  InvalidArgument,
  isErrorCode,
  NotFound,
  TransientFailure,
} from '../../domain/errors.js';

/** Trailing metadata carrying our error code, so our own clients restore the exact error. */
export const ERROR_CODE_KEY = 'x-error-code';
/** Trailing metadata: seconds before trying again is worth it (a rate limit, an overload). */
export const RETRY_AFTER_KEY = 'retry-after';

const STATUS_BY_KIND: Record<ErrorKind, grpc.status> = {
  // DTM reads ABORTED as "compensate, do not retry"; every other status is retried.
  business: grpc.status.ABORTED,
  transient: grpc.status.UNAVAILABLE,
  notFound: grpc.status.NOT_FOUND,
  invalid: grpc.status.INVALID_ARGUMENT,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  rateLimited: grpc.status.RESOURCE_EXHAUSTED,
  internal: grpc.status.INTERNAL,
};

/** Statuses a caller should retry, whatever the server meant (the network says these too). */
const TRANSIENT_STATUSES = new Set<grpc.status>([
  grpc.status.UNAVAILABLE,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.INTERNAL,
  grpc.status.UNKNOWN,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.CANCELLED,
]);

export interface GrpcStatus {
  readonly code: grpc.status;
  readonly details: string;
  readonly metadata: grpc.Metadata;
}

/**
 * The one translation from errors to gRPC statuses, as DTM reads them. A compensation never answers
 * ABORTED: DTM retries a failing compensation forever, and ours cannot fail for business reasons, so a
 * business error there would be a bug, answered INTERNAL (retried).
 */
export function toGrpcStatus(error: unknown, options: { compensation?: boolean } = {}): GrpcStatus {
  const metadata = new grpc.Metadata();
  if (!(error instanceof DomainError)) {
    metadata.set(ERROR_CODE_KEY, 'internal');
    return { code: grpc.status.INTERNAL, details: errorCatalog.internal.message, metadata };
  }
  metadata.set(ERROR_CODE_KEY, error.code);
  if (error.retryAfterSeconds !== undefined) {
    metadata.set(RETRY_AFTER_KEY, String(Math.max(1, Math.ceil(error.retryAfterSeconds))));
  }
  const internal = error.kind === 'internal' || (options.compensation === true && error.kind === 'business');
  const code = internal ? grpc.status.INTERNAL : STATUS_BY_KIND[error.kind];
  const details = error.kind === 'internal' ? errorCatalog.internal.message : error.message;
  return { code, details, metadata };
}

/**
 * The one translation back: our code from the trailer when the status agrees with it (our servers); else
 * by status alone (a foreign server, the network): ABORTED refuses, the transient set retries.
 */
export function fromGrpcError(error: Partial<grpc.ServiceError>): DomainError {
  const status = error.code ?? grpc.status.UNKNOWN;
  const details = error.details || error.message || grpc.status[status] || 'gRPC call failed';
  const trailer = error.metadata?.get(ERROR_CODE_KEY)[0];
  const code = typeof trailer === 'string' ? trailer : undefined;
  if (code !== undefined && isErrorCode(code)) {
    const retryAfter = Number(error.metadata?.get(RETRY_AFTER_KEY)[0]);
    const restored = domainError(
      code,
      details,
      Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {},
    );
    if (STATUS_BY_KIND[restored.kind] === status) return restored;
  }
  if (TRANSIENT_STATUSES.has(status)) {
    return new TransientFailure('unavailable', `remote service: ${grpc.status[status]}: ${details}`);
  }
  switch (status) {
    case grpc.status.ABORTED:
      return new BusinessFailure('branch_refused', details);
    case grpc.status.NOT_FOUND:
      return new NotFound('not_found', details);
    case grpc.status.INVALID_ARGUMENT:
    case grpc.status.OUT_OF_RANGE:
      return new InvalidArgument(details);
    default:
      // UNAUTHENTICATED, PERMISSION_DENIED, FAILED_PRECONDITION, ...: a configuration problem on one side,
      // not a business answer; retrying gives an operator the chance to fix it without losing the saga.
      return new TransientFailure('unavailable', `remote service: ${grpc.status[status]}: ${details}`);
  }
}

/** A status code's name (`OK`, `UNAVAILABLE`), as metrics label it. */
export function statusName(code: grpc.status): string {
  return grpc.status[code] ?? String(code);
}
