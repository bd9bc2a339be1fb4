import {
  type Attributes,
  type Context,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { DomainError } from '../../domain/errors.js';
import type { ResumeReason, SagaEnd, SagaTrace, SagaTracing } from '../../machines/runtime/saga-tracing.js';
import type { StepDone } from '../../machines/saga-context.js';

/** Span attributes: ours under `saga.`; the failure's code as OpenTelemetry's `error.type`. */
export const sagaAttributes = {
  gid: 'saga.gid',
  type: 'saga.type',
  status: 'saga.status',
  step: 'saga.step',
  op: 'saga.op',
  attempt: 'saga.attempt',
  barrier: 'saga.barrier',
  resumeReason: 'saga.resume.reason',
  errorType: 'error.type',
} as const;

/** The span event a resumed saga's span starts with. */
export const RESUMED_EVENT = 'saga.resumed';

const propagator = new W3CTraceContextPropagator();

function traceparentOf(spanContext: Context): string | null {
  const carrier: Record<string, string> = {};
  propagator.inject(spanContext, carrier, defaultTextMapSetter);
  return carrier.traceparent ?? null;
}

function linkedContext(traceparent: string | null): SpanContext | undefined {
  if (!traceparent) return undefined;
  return trace.getSpanContext(propagator.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter));
}

/**
 * Only our own errors' codes (`score_rejected`, `unavailable`, …) go into spans, never messages: a
 * driver's message can quote the values of a statement.
 */
function codeOf(error: unknown): string {
  if (error instanceof DomainError) return error.code;
  return error instanceof Error && error.name === 'AbortError' ? 'cancelled' : 'internal';
}

class TracedSaga implements SagaTrace {
  readonly traceContext: string | null;
  private readonly context: Context;
  private ended = false;

  constructor(
    private readonly tracer: Tracer,
    private readonly span: Span,
    parent: Context,
    private readonly gid: string,
  ) {
    this.context = trace.setSpan(parent, span);
    this.traceContext = traceparentOf(this.context);
  }

  within<T>(work: () => T): T {
    return context.with(this.context, work);
  }

  step(
    step: { readonly step: string; readonly op: string },
    attempt: number,
    call: () => Promise<StepDone>,
  ): Promise<StepDone> {
    const span = this.tracer.startSpan(
      `step ${step.step}`,
      {
        attributes: {
          [sagaAttributes.gid]: this.gid,
          [sagaAttributes.step]: step.step,
          [sagaAttributes.op]: step.op,
          [sagaAttributes.attempt]: attempt,
        },
      },
      this.context,
    );
    return context.with(trace.setSpan(this.context, span), call).then(
      (done) => {
        span.setAttribute(sagaAttributes.barrier, done.barrier);
        span.end();
        return done;
      },
      (error: unknown) => {
        const code = codeOf(error);
        const attributes: Attributes = { [sagaAttributes.errorType]: code };
        // A hanging action is refused as branch_compensated (domain/branch.ts, refuseHanging).
        if (code === 'branch_compensated') attributes[sagaAttributes.barrier] = 'hanging';
        span.setAttributes(attributes);
        span.setStatus({ code: SpanStatusCode.ERROR, message: code });
        span.end();
        throw error;
      },
    );
  }

  end(end: SagaEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.span.setAttribute(sagaAttributes.status, end.status);
    // An aborted saga is an answer (a refusal, compensated), not a failure of the service: its status
    // stays unset, and its code says why.
    if (end.status === 'aborted' && end.error)
      this.span.setAttribute(sagaAttributes.errorType, end.error.code);
    this.span.end();
  }
}

/** The runtime's SagaTracing over an OpenTelemetry tracer. */
export function createSagaTracing(tracer: Tracer): SagaTracing {
  return {
    begin(type, gid) {
      const parent = context.active();
      const span = tracer.startSpan(
        `saga ${type}`,
        { attributes: { [sagaAttributes.gid]: gid, [sagaAttributes.type]: type } },
        parent,
      );
      return new TracedSaga(tracer, span, parent, gid);
    },

    resume(type, gid, traceContext, reason: ResumeReason) {
      // A new trace: the one the saga was begun in may be long over; the link leads back to it.
      const linked = linkedContext(traceContext);
      const reasonAttribute = { [sagaAttributes.resumeReason]: reason };
      const span = tracer.startSpan(
        `saga ${type}`,
        {
          root: true,
          attributes: { [sagaAttributes.gid]: gid, [sagaAttributes.type]: type, ...reasonAttribute },
          links: linked ? [{ context: linked, attributes: reasonAttribute }] : [],
        },
        ROOT_CONTEXT,
      );
      span.addEvent(RESUMED_EVENT, reasonAttribute);
      return new TracedSaga(tracer, span, ROOT_CONTEXT, gid);
    },
  };
}
