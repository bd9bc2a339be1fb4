/**
 * Every error the service can answer with, in one list. A code is stable (clients and the saga log
 * store it); its kind says what a caller should do. Transports translate kinds and codes in exactly one
 * function each (HTTP: transports/http/error-status.ts, gRPC: transports/grpc/error-status.ts).
 * Never branch on message text.
 */
export const errorCatalog = {
  // business: the branch refused; compensate, never retry
  duplicate_user: { kind: 'business', message: 'a user with this id already exists' },
  duplicate_score: { kind: 'business', message: 'a score for this user already exists' },
  score_rejected: { kind: 'business', message: 'this score is not accepted' },
  branch_compensated: {
    kind: 'business',
    message: 'this branch was already compensated for this saga (hanging request)',
  },
  branch_refused: { kind: 'business', message: 'a remote branch refused (gRPC ABORTED)' },
  saga_timeout: { kind: 'business', message: 'a step kept failing past the saga timeout' },
  sealed_input_unreadable: {
    kind: 'business',
    message:
      "the saga's sealed input cannot be opened with this process's key (was SAGA_SECRET_KEY or JWT_SECRET changed?)",
  },
  // an operator's request that conflicts with the saga's state (HTTP 409, like a refusal)
  saga_final: { kind: 'business', message: 'the saga is final; there is nothing to retry' },
  saga_not_waiting: { kind: 'business', message: 'no step of this saga waits for a retry' },
  saga_not_here: {
    kind: 'business',
    message: 'another coordinator process runs this saga; send the retry to it',
  },
  // a login whose account is not ready: the registration saga that created it has not succeeded (yet)
  registration_incomplete: {
    kind: 'business',
    message: "this user's registration has not completed; try again once it has",
  },
  // transient: try again later
  unavailable: { kind: 'transient', message: 'a dependency is unavailable, try again' },
  overloaded: {
    kind: 'transient',
    message: 'too much work in progress here (MAX_SAGAS_IN_FLIGHT); try again later',
  },
  // not found
  user_not_found: { kind: 'notFound', message: 'user not found' },
  score_not_found: { kind: 'notFound', message: 'score not found' },
  saga_not_found: { kind: 'notFound', message: 'saga not found' },
  not_found: { kind: 'notFound', message: 'not found' },
  // the caller sent something wrong
  invalid_argument: { kind: 'invalid', message: 'invalid argument' },
  payload_too_large: { kind: 'invalid', message: 'the request body is too large' },
  unsupported_media_type: { kind: 'invalid', message: 'send the body as application/json' },
  idempotency_key_reused: {
    kind: 'invalid',
    message: 'this Idempotency-Key was already used with a different request',
  },
  // who is calling
  unauthenticated: { kind: 'unauthenticated', message: 'authentication required' },
  invalid_credentials: { kind: 'unauthenticated', message: 'unknown id or wrong password' },
  rate_limited: { kind: 'rateLimited', message: 'too many requests, slow down' },
  // a bug or an unexpected failure: the details are in the log, not in the answer
  internal: { kind: 'internal', message: 'internal error' },
} as const satisfies Record<string, { kind: ErrorKind; message: string }>;

export type ErrorKind =
  | 'business'
  | 'transient'
  | 'notFound'
  | 'invalid'
  | 'unauthenticated'
  | 'rateLimited'
  | 'internal';
export type ErrorCode = keyof typeof errorCatalog;
export type CodeOfKind<K extends ErrorKind> = {
  [C in ErrorCode]: (typeof errorCatalog)[C]['kind'] extends K ? C : never;
}[ErrorCode];

export const errorCodes = Object.keys(errorCatalog) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorCatalog, value);
}

/** The JSON shape of an error wherever one is stored or sent: saga log, HTTP bodies, gRPC details. */
export interface ErrorInfo {
  readonly code: ErrorCode;
  readonly message: string;
}

export interface DomainErrorOptions extends ErrorOptions {
  /** When trying again makes sense (rate limits, overload): HTTP's Retry-After, gRPC's retry-after trailer. */
  readonly retryAfterSeconds?: number | undefined;
}

export abstract class DomainError extends Error {
  abstract readonly kind: ErrorKind;
  readonly code: ErrorCode;
  readonly retryAfterSeconds: number | undefined;

  protected constructor(code: ErrorCode, message: string | undefined, options?: DomainErrorOptions) {
    super(message ?? errorCatalog[code].message, options);
    this.code = code;
    this.name = new.target.name;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  toJSON(): ErrorInfo {
    return { code: this.code, message: this.message };
  }
}

/** The branch refused for a business reason: the saga compensates and never retries it. */
export class BusinessFailure extends DomainError {
  readonly kind = 'business';
  constructor(code: CodeOfKind<'business'>, message?: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** Could not be done now (database, network, a restarting service): retrying may succeed. */
export class TransientFailure extends DomainError {
  readonly kind = 'transient';
  constructor(code: CodeOfKind<'transient'> = 'unavailable', message?: string, options?: DomainErrorOptions) {
    super(code, message, options);
  }
}

export class NotFound extends DomainError {
  readonly kind = 'notFound';
  constructor(code: CodeOfKind<'notFound'>, message?: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

export class InvalidArgument extends DomainError {
  readonly kind = 'invalid';
  constructor(message?: string, code: CodeOfKind<'invalid'> = 'invalid_argument', options?: ErrorOptions) {
    super(code, message, options);
  }
}

export class Unauthenticated extends DomainError {
  readonly kind = 'unauthenticated';
  constructor(code: CodeOfKind<'unauthenticated'> = 'unauthenticated', message?: string) {
    super(code, message);
  }
}

export class RateLimited extends DomainError {
  readonly kind = 'rateLimited';
  constructor(message?: string, options?: DomainErrorOptions) {
    super('rate_limited', message, options);
  }
}

/** Something failed that should not have (a bug); callers see `internal`, the log sees the cause. */
export class InternalError extends DomainError {
  readonly kind = 'internal';
  constructor(message?: string, options?: ErrorOptions) {
    super('internal', message, options);
  }
}

/** Rebuilds the typed error for a code (the inverse of toJSON), e.g. from a gRPC status or the saga log. */
export function domainError(code: ErrorCode, message?: string, options?: DomainErrorOptions): DomainError {
  const kind: ErrorKind = errorCatalog[code].kind;
  switch (kind) {
    case 'business':
      return new BusinessFailure(code as CodeOfKind<'business'>, message);
    case 'transient':
      return new TransientFailure(code as CodeOfKind<'transient'>, message, options);
    case 'notFound':
      return new NotFound(code as CodeOfKind<'notFound'>, message);
    case 'invalid':
      return new InvalidArgument(message, code as CodeOfKind<'invalid'>);
    case 'unauthenticated':
      return new Unauthenticated(code as CodeOfKind<'unauthenticated'>, message);
    case 'rateLimited':
      return new RateLimited(message, options);
    case 'internal':
      return new InternalError(message);
  }
}
