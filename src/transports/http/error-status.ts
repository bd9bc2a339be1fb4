import {
  type CodeOfKind,
  DomainError,
  type ErrorCode,
  type ErrorInfo,
  type ErrorKind,
  errorCatalog,
} from '../../domain/errors.js';

const STATUS_BY_KIND: Record<ErrorKind, number> = {
  business: 409,
  transient: 503,
  notFound: 404,
  invalid: 400,
  unauthenticated: 401,
  rateLimited: 429,
  internal: 500,
};

/** Codes whose status differs from their kind's. */
const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  score_rejected: 422,
  idempotency_key_reused: 422,
  saga_timeout: 503,
  sealed_input_unreadable: 500,
  payload_too_large: 413,
  unsupported_media_type: 415,
};

/** fastify's own client errors, by status, in our codes. */
const CODE_BY_STATUS: Record<
  number,
  CodeOfKind<'invalid' | 'notFound' | 'unauthenticated' | 'rateLimited'>
> = {
  400: 'invalid_argument',
  401: 'unauthenticated',
  404: 'not_found',
  413: 'payload_too_large',
  414: 'invalid_argument', // a path parameter over fastify's maxParamLength
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/**
 * @fastify/static (under the docs' Swagger UI) refuses a path with a NUL byte or an empty segment
 * (`/docs/static/a//b`) with a 403 of its own; no file has such a name, so it is answered like any other
 * path nothing serves (found by the admin HTTP fuzz test: it was a 500).
 */
const NOT_FOUND_FRAMEWORK_CODES: ReadonlySet<unknown> = new Set(['FST_STATIC_FORBIDDEN_PATH']);

export function statusOfCode(code: ErrorCode): number {
  return STATUS_BY_CODE[code] ?? STATUS_BY_KIND[errorCatalog[code].kind];
}

export interface HttpError {
  readonly status: number;
  readonly body: { readonly error: ErrorInfo };
  /** 5xx: the caller sees a generic message; the log must get the error itself. */
  readonly unexpected: boolean;
  /** Headers the answer carries: `retry-after` for a limit or an overload that will pass. */
  readonly headers?: Readonly<Record<string, string>>;
}

interface FastifyLikeError {
  statusCode?: unknown;
  code?: unknown;
  message?: unknown;
  validation?: unknown;
  validationContext?: unknown;
}

/**
 * The one translation from errors to HTTP: our domain errors by code and kind; fastify's own 4xx
 * (validation, bad JSON, body too large, media type) by status; anything else is a 500 whose message is
 * not shown to the caller.
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof DomainError) {
    const status = statusOfCode(error.code);
    const message = error.kind === 'internal' ? errorCatalog.internal.message : error.message;
    return {
      status,
      body: { error: { code: error.code, message } },
      unexpected: status >= 500 && error.kind === 'internal',
      ...(error.retryAfterSeconds === undefined
        ? {}
        : { headers: { 'retry-after': String(Math.max(1, Math.ceil(error.retryAfterSeconds))) } }),
    };
  }
  const e = (error ?? {}) as FastifyLikeError;
  if (NOT_FOUND_FRAMEWORK_CODES.has(e.code)) {
    return {
      status: 404,
      body: { error: { code: 'not_found', message: errorCatalog.not_found.message } },
      unexpected: false,
    };
  }
  const statusCode = typeof e.statusCode === 'number' ? e.statusCode : 500;
  const code = CODE_BY_STATUS[statusCode];
  if (statusCode >= 400 && statusCode < 500 && code) {
    return {
      status: statusCode,
      body: { error: { code, message: clientMessage(e, code) } },
      unexpected: false,
    };
  }
  return {
    status: 500,
    body: { error: { code: 'internal', message: errorCatalog.internal.message } },
    unexpected: true,
  };
}

function clientMessage(error: FastifyLikeError, code: ErrorCode): string {
  if (code === 'unauthenticated') return 'missing, expired or invalid token';
  if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
    return 'the request body is not valid JSON';
  }
  if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return 'the request body is empty';
  if (typeof error.message === 'string' && (error.validation !== undefined || code === 'invalid_argument')) {
    return error.message;
  }
  return errorCatalog[code].message;
}
