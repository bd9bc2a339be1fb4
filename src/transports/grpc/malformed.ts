import type * as grpc from '@grpc/grpc-js';

const MALFORMED = Symbol('malformed request');

interface MalformedRequest {
  readonly [MALFORMED]: string;
}

/**
 * The service definition with request decoding that never throws. grpc-js answers a request it cannot
 * decode with INTERNAL, which a caller (DTM among them) retries forever; a malformed message is the
 * caller's error, so the decoder hands a marker to the handler instead, and unary() answers
 * INVALID_ARGUMENT through the one status mapping.
 */
export function tolerantDefinition(definition: grpc.ServiceDefinition): grpc.ServiceDefinition {
  return Object.fromEntries(
    Object.entries(definition).map(([name, method]) => [
      name,
      {
        ...method,
        requestDeserialize: (bytes: Buffer) => {
          try {
            return method.requestDeserialize(bytes);
          } catch (error) {
            return {
              [MALFORMED]: error instanceof Error ? error.message : String(error),
            } satisfies MalformedRequest;
          }
        },
      },
    ]),
  );
}

/** Why the request could not be decoded, or undefined for a decoded one. */
export function malformedReason(request: unknown): string | undefined {
  return typeof request === 'object' && request !== null && MALFORMED in request
    ? (request as MalformedRequest)[MALFORMED]
    : undefined;
}
