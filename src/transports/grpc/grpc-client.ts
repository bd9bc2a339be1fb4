import * as grpc from '@grpc/grpc-js';
import type { BarrierOutcome } from '../../domain/branch.js';
import { fromGrpcError, statusName } from './error-status.js';

export interface ClientSettings {
  readonly token: string;
  readonly deadlineMs: number;
  readonly credentials: grpc.ChannelCredentials;
  /** Told of every call: for metrics (method, status code, seconds). */
  readonly observe?: (method: string, code: string, seconds: number) => void;
}

/** Channel options every client uses: round-robin over the target's addresses, keepalive, reconnect backoff. */
export function channelOptions(): grpc.ChannelOptions {
  return {
    'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 5_000,
  };
}

export type UnaryMethod<Request, Response> = (
  request: Request,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: grpc.requestCallback<Response>,
) => grpc.ClientUnaryCall;

/**
 * One unary call with the service credential and a deadline; failures come back as our domain errors
 * (fromGrpcError), so callers cannot tell a remote service from a local one. An aborted `signal` cancels
 * the call (a stopping coordinator does not wait for the deadline).
 */
export function callUnary<Request, Response>(
  settings: ClientSettings,
  name: string,
  method: UnaryMethod<Request, Response>,
  request: Request,
  metadata = new grpc.Metadata(),
  signal?: AbortSignal,
): Promise<Response> {
  metadata.set('authorization', `Bearer ${settings.token}`);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const cancel = () => call.cancel();
    const call = method(
      request,
      metadata,
      { deadline: Date.now() + settings.deadlineMs },
      (error, response) => {
        signal?.removeEventListener('abort', cancel);
        settings.observe?.(
          name,
          statusName(error ? (error.code ?? grpc.status.UNKNOWN) : grpc.status.OK),
          (performance.now() - started) / 1000,
        );
        if (error) reject(fromGrpcError(error));
        else resolve(response as Response);
      },
    );
    if (signal?.aborted) cancel();
    else signal?.addEventListener('abort', cancel, { once: true });
  });
}

const OUTCOMES = new Set<string>(['done', 'duplicate', 'nullCompensation']);

/** The barrier outcome a server reported; a server that does not say (a plain DTM branch) did the work. */
export function barrierOutcome(reported: string | undefined): Exclude<BarrierOutcome, 'hanging'> {
  return reported !== undefined && OUTCOMES.has(reported)
    ? (reported as Exclude<BarrierOutcome, 'hanging'>)
    : 'done';
}

export interface Closable {
  close(): void;
}
