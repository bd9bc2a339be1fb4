// OpenTelemetry tracing from the standard OTEL_* variables (the SDK's own names and meanings,
// https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/), read and checked
// once with the rest of the configuration: off unless an OTLP endpoint is set.

export const traceProtocols = ['http/protobuf', 'http/json'] as const;
export type TraceProtocol = (typeof traceProtocols)[number];

export const traceSamplers = [
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
  'always_on',
  'always_off',
  'traceidratio',
] as const;
export type TraceSampler = (typeof traceSamplers)[number];

/** Where and how spans are exported. */
export interface TraceExport {
  /** The OTLP/HTTP traces URL, `/v1/traces` included. */
  readonly url: string;
  readonly protocol: TraceProtocol;
  readonly serviceName: string;
  readonly sampler: TraceSampler;
  /** The ratio of the `…traceidratio` samplers (OTEL_TRACES_SAMPLER_ARG), 0 to 1. */
  readonly ratio: number;
}

export interface TracingEnvironment {
  readonly OTEL_SDK_DISABLED?: string | undefined;
  readonly OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  readonly OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string | undefined;
  readonly OTEL_EXPORTER_OTLP_PROTOCOL?: string | undefined;
  readonly OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?: string | undefined;
  readonly OTEL_SERVICE_NAME?: string | undefined;
  readonly OTEL_TRACES_SAMPLER?: string | undefined;
  readonly OTEL_TRACES_SAMPLER_ARG?: string | undefined;
  readonly TRACE_URL_TEMPLATE?: string | undefined;
}

const set = (value: string | undefined) =>
  value === undefined || value.trim() === '' ? undefined : value.trim();

function httpUrl(value: string): URL | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The export settings, or undefined when tracing is off. `defaultServiceName` names the process by its
 * roles (`saga-api-user-score` for the monolith, `saga-user` for a user service).
 */
export function parseTraceExport(
  env: TracingEnvironment,
  defaultServiceName: string,
  problems: string[],
): TraceExport | undefined {
  const base = set(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const traces = set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  if (base === undefined && traces === undefined) return undefined;
  if (/^(1|true)$/i.test(set(env.OTEL_SDK_DISABLED) ?? '')) return undefined;

  // As the spec says: the signal's own endpoint is used as it is; the base endpoint gets /v1/traces.
  const [name, given] =
    traces !== undefined
      ? ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', traces]
      : ['OTEL_EXPORTER_OTLP_ENDPOINT', base as string];
  const parsed = httpUrl(given);
  if (!parsed) problems.push(`${name} expects an http:// or https:// URL, got "${given}"`);
  const url = traces !== undefined ? given : `${given.replace(/\/+$/, '')}/v1/traces`;

  const protocolName = set(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL)
    ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = set(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) ?? set(env.OTEL_EXPORTER_OTLP_PROTOCOL);
  if (protocol !== undefined && !(traceProtocols as readonly string[]).includes(protocol)) {
    problems.push(
      `${protocolName} expects ${traceProtocols.join(' or ')}, got "${protocol}"` +
        (protocol === 'grpc' ? ' (this service exports OTLP over HTTP only; a Collector takes both)' : ''),
    );
  }

  const sampler = set(env.OTEL_TRACES_SAMPLER) ?? 'parentbased_always_on';
  if (!(traceSamplers as readonly string[]).includes(sampler)) {
    problems.push(`OTEL_TRACES_SAMPLER expects one of ${traceSamplers.join(', ')}, got "${sampler}"`);
  }
  const arg = set(env.OTEL_TRACES_SAMPLER_ARG);
  const ratio = arg === undefined ? 1 : Number(arg);
  if (arg !== undefined && (!/^\d*\.?\d+$/.test(arg) || ratio > 1)) {
    problems.push(`OTEL_TRACES_SAMPLER_ARG expects a ratio from 0 to 1, got "${arg}"`);
  }

  return {
    url,
    protocol: (protocol ?? 'http/protobuf') as TraceProtocol,
    serviceName: set(env.OTEL_SERVICE_NAME) ?? defaultServiceName,
    sampler: sampler as TraceSampler,
    ratio: Number.isFinite(ratio) ? Math.min(Math.max(ratio, 0), 1) : 1,
  };
}

/** TRACE_URL_TEMPLATE: a trace UI's page for one trace, `{traceId}` standing for the id. */
export function parseTraceUrlTemplate(value: string | undefined, problems: string[]): string | undefined {
  const template = set(value);
  if (template === undefined) return undefined;
  const expects =
    'expects an http:// or https:// URL with {traceId} in it, such as http://jaeger:16686/trace/{traceId}';
  if (!template.includes('{traceId}') || !httpUrl(template.replaceAll('{traceId}', '0'.repeat(32)))) {
    problems.push(`TRACE_URL_TEMPLATE ${expects}, got "${template}"`);
    return undefined;
  }
  return template;
}
