import type { SagaOp } from '../../domain/branch.js';
import type { StepDone } from '../saga-context.js';
import type { SagaResult } from './running-saga.js';

/**
 * Why a process resumes a saga from the log:
 * - `takeover`: its lease ran out while another process held it (that process crashed, or was cut off);
 * - `restart`: its owner released it (a graceful stop);
 * - `retry`: it is this process's own, taken back: a create whose answer was lost (the connection died),
 *   or a saga whose lease lapsed while this process could not renew it.
 */
export type ResumeReason = 'takeover' | 'restart' | 'retry';

/** A saga's end as its trace records it: its result, or `notCreated` (its gid was taken). */
export type SagaEnd = SagaResult | { readonly status: 'notCreated'; readonly gid: string };

/**
 * What the runtime tells tracing (issue #15): a span per saga worked here and one per step attempt.
 * Implemented in observability/tracing with OpenTelemetry; with tracing off the runtime gets
 * `noSagaTracing`, and pays a call to an empty function per step.
 */
export interface SagaTracing {
  /** A saga begun here: its span is a child of the caller's (the HTTP request's). */
  begin(type: string, gid: string): SagaTrace;
  /**
   * A saga resumed from its log: a span of a new trace, linked to the one the saga was begun in
   * (`traceContext`, from its row), with the resume and its reason as an event.
   */
  resume(type: string, gid: string, traceContext: string | null, reason: ResumeReason): SagaTrace;
}

export interface SagaTrace {
  /** The W3C traceparent of the saga's span, for its log row; null when tracing is off. */
  readonly traceContext: string | null;
  /** Runs `work` with the saga's span active: what it starts (the actor, its log writes) joins the trace. */
  within<T>(work: () => T): T;
  /** One step call, `attempt` counted from 1, in a span of its own that its database and gRPC spans join. */
  step(
    step: { readonly step: string; readonly op: SagaOp },
    attempt: number,
    call: () => Promise<StepDone>,
  ): Promise<StepDone>;
  end(end: SagaEnd): void;
}

const untraced: SagaTrace = {
  traceContext: null,
  within: (work) => work(),
  step: (_step, _attempt, call) => call(),
  end() {},
};

/** Tracing off: nothing is recorded, and no OpenTelemetry module is loaded. */
export const noSagaTracing: SagaTracing = { begin: () => untraced, resume: () => untraced };

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

/** The trace id of a W3C traceparent (`00-<trace id>-<span id>-<flags>`), or null. */
export function traceIdOf(traceContext: string | null | undefined): string | null {
  return (traceContext && TRACEPARENT.exec(traceContext)?.[1]) || null;
}
