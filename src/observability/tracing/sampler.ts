import { type Attributes, type Context, type Link, SpanKind, trace } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  type Sampler,
  SamplingDecision,
  type SamplingResult,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-node';
import type { TraceExport } from '../../config/tracing.js';

/** OTEL_TRACES_SAMPLER and its argument, as the SDK would read them (config/tracing.ts checked both). */
function configured(settings: Pick<TraceExport, 'sampler' | 'ratio'>): Sampler {
  switch (settings.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(settings.ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.ratio) });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/**
 * The configured sampler, except for database and gRPC calls that nothing traced started: every
 * process renews its leases, looks for sagas to take over, counts finished sagas and probes its database
 * a few times a second, and each such query would be a trace of one span. Calls made for a request or a
 * saga have its span as parent and are sampled as it is.
 */
export class BackgroundCallsUnsampled implements Sampler {
  private readonly inner: Sampler;

  constructor(settings: Pick<TraceExport, 'sampler' | 'ratio'>) {
    this.inner = configured(settings);
  }

  shouldSample(
    parent: Context,
    traceId: string,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    if (kind === SpanKind.CLIENT && trace.getSpanContext(parent) === undefined) {
      return { decision: SamplingDecision.NOT_RECORD };
    }
    return this.inner.shouldSample(parent, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `BackgroundCallsUnsampled{${this.inner.toString()}}`;
  }
}
