import * as grpc from '@grpc/grpc-js';
import type { BranchRef } from '../../domain/branch.js';
import { InvalidArgument } from '../../domain/errors.js';
import { statusName, toGrpcStatus } from './error-status.js';
import { malformedReason } from './malformed.js';
import { bearerToken, branchFromMetadata, branchLogFields } from './metadata.js';

export interface HandlerContext {
  /** Constant-time check of the presented service token. */
  readonly authorized: (token: string | undefined) => boolean;
  readonly logger: {
    error(fields: object, message: string): void;
    debug(fields: object, message: string): void;
  };
  /** Told of every call: for metrics (method, status code, seconds). */
  readonly observe?: (method: string, code: string, seconds: number) => void;
}

/**
 * Wraps a promise-returning handler: checks the service credential (every call, compensations included:
 * they delete data), runs it, and answers its error through the one status mapping.
 */
export function unary<Request, Response>(
  context: HandlerContext,
  method: string,
  handle: (request: Request, metadata: grpc.Metadata) => Promise<Response>,
  options: { compensation?: boolean } = {},
): grpc.handleUnaryCall<Request, Response> {
  return (call, callback) => {
    const started = performance.now();
    const finish = (code: grpc.status) =>
      context.observe?.(method, statusName(code), (performance.now() - started) / 1000);
    if (!context.authorized(bearerToken(call.metadata))) {
      finish(grpc.status.UNAUTHENTICATED);
      callback({ code: grpc.status.UNAUTHENTICATED, details: 'missing or wrong service token' });
      return;
    }
    const malformed = malformedReason(call.request);
    const handled =
      malformed === undefined
        ? handle(call.request, call.metadata)
        : Promise.reject(new InvalidArgument(`the request is not a valid ${method} message (${malformed})`));
    handled.then(
      (response) => {
        finish(grpc.status.OK);
        callback(null, response);
      },
      (error: unknown) => {
        const status = toGrpcStatus(error, options);
        const saga = branchLogFields(call.metadata);
        if (status.code === grpc.status.INTERNAL)
          context.logger.error({ err: error, method, ...saga }, 'gRPC call failed');
        else
          context.logger.debug(
            { method, ...saga, code: grpc.status[status.code], details: status.details },
            'gRPC call refused',
          );
        finish(status.code);
        callback({ code: status.code, details: status.details, metadata: status.metadata });
      },
    );
  };
}

/** A forward branch call (saveUser, saveUserScore): its op must not be a compensating one. */
export function forwardBranch(metadata: grpc.Metadata): BranchRef {
  const branch = branchFromMetadata(metadata);
  if (branch.op === 'compensate' || branch.op === 'cancel' || branch.op === 'rollback') {
    throw new InvalidArgument(
      `this method is a forward branch; dtm-op "${branch.op}" belongs to its callback`,
    );
  }
  return branch;
}

/** A compensation call (…Callback): its op must be a compensating one. */
export function compensationBranch(metadata: grpc.Metadata): BranchRef {
  const branch = branchFromMetadata(metadata);
  if (branch.op !== 'compensate' && branch.op !== 'cancel' && branch.op !== 'rollback') {
    throw new InvalidArgument(
      `this method is a compensation; dtm-op "${branch.op}" belongs to the forward branch`,
    );
  }
  return branch;
}
