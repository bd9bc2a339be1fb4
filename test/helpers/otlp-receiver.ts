import { createServer, type IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

// A stand-in for an OpenTelemetry Collector: a plain HTTP server that takes what the service's OTLP/HTTP
// exporter sends to /v1/traces, in protobuf (the default) or JSON, and keeps every span it is sent.

export interface ReceivedSpan {
  /** The resource's service.name: which process sent it. */
  readonly service: string;
  readonly resource: Readonly<Record<string, unknown>>;
  /** The instrumentation scope: `saga-service`, `@fastify/otel`, `@opentelemetry/instrumentation-grpc`, … */
  readonly scope: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  /** 1 internal, 2 server, 3 client. */
  readonly kind: number;
  /** Start time, in nanoseconds since the epoch. */
  readonly startNs: bigint;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly events: readonly {
    readonly name: string;
    readonly attributes: Readonly<Record<string, unknown>>;
  }[];
  readonly links: readonly {
    readonly traceId: string;
    readonly spanId: string;
    readonly attributes: Readonly<Record<string, unknown>>;
  }[];
  /** 0 unset, 1 ok, 2 error. */
  readonly status: { readonly code: number; readonly message: string };
}

export interface OtlpReceiver {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT (the exporter adds /v1/traces). */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** The content type of every export request received. */
  readonly contentTypes: string[];
  /** Waits until `ready(spans)` holds (the exporter sends in batches); fails after `timeoutMs`. */
  waitFor(ready: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

/** What both encodings decode to before they are made into ReceivedSpans (ids as hex or bytes). */
type Wire = Record<string, unknown>;

const request = protobuf
  .loadSync(fileURLToPath(new URL('./otlp-trace.proto', import.meta.url)))
  .lookupType('otlp.ExportTraceServiceRequest');

const hex = (value: unknown): string =>
  typeof value === 'string' ? value.toLowerCase() : Buffer.from((value as Uint8Array) ?? []).toString('hex');

/** An AnyValue, from either encoding (JSON sends 64-bit integers as strings or numbers). */
function anyValue(any: Wire | undefined): unknown {
  if (!any) return undefined;
  if ('stringValue' in any) return any.stringValue;
  if ('boolValue' in any) return any.boolValue;
  if ('intValue' in any) return Number(any.intValue);
  if ('doubleValue' in any) return Number(any.doubleValue);
  if ('arrayValue' in any)
    return ((any.arrayValue as Wire).values as Wire[] | undefined)?.map(anyValue) ?? [];
  if ('kvlistValue' in any) return attributesOf((any.kvlistValue as Wire).values as Wire[]);
  if ('bytesValue' in any) return hex(any.bytesValue);
  return undefined;
}

/** A fixed64 time: a string or number, or (older JSON encoders) a {low, high} pair. */
function nanos(value: unknown): bigint {
  if (value !== null && typeof value === 'object') {
    const { low, high } = value as { low: number; high: number };
    return (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
  }
  return BigInt(String(value ?? 0));
}

function attributesOf(list: Wire[] | undefined): Record<string, unknown> {
  return Object.fromEntries(
    (list ?? []).map((entry) => [entry.key as string, anyValue(entry.value as Wire)]),
  );
}

function spansOf(body: Wire): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of (body.resourceSpans as Wire[] | undefined) ?? []) {
    const resource = attributesOf((resourceSpans.resource as Wire | undefined)?.attributes as Wire[]);
    for (const scopeSpans of (resourceSpans.scopeSpans as Wire[] | undefined) ?? []) {
      const scope = String((scopeSpans.scope as Wire | undefined)?.name ?? '');
      for (const span of (scopeSpans.spans as Wire[] | undefined) ?? []) {
        const parent = hex(span.parentSpanId);
        const status = (span.status as Wire | undefined) ?? {};
        spans.push({
          service: String(resource['service.name']),
          resource,
          scope,
          traceId: hex(span.traceId),
          spanId: hex(span.spanId),
          parentSpanId: parent === '' ? undefined : parent,
          name: String(span.name),
          kind: Number(span.kind ?? 0),
          startNs: nanos(span.startTimeUnixNano),
          attributes: attributesOf(span.attributes as Wire[]),
          events: ((span.events as Wire[] | undefined) ?? []).map((event) => ({
            name: String(event.name),
            attributes: attributesOf(event.attributes as Wire[]),
          })),
          links: ((span.links as Wire[] | undefined) ?? []).map((link) => ({
            traceId: hex(link.traceId),
            spanId: hex(link.spanId),
            attributes: attributesOf(link.attributes as Wire[]),
          })),
          status: { code: Number(status.code ?? 0), message: String(status.message ?? '') },
        });
      }
    }
  }
  return spans;
}

async function bodyOf(message: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of message) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return message.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server = createServer((message, response) => {
    bodyOf(message)
      .then((body) => {
        if (message.method !== 'POST' || message.url !== '/v1/traces') {
          response.writeHead(404).end();
          return;
        }
        const type = message.headers['content-type'] ?? '';
        contentTypes.push(type);
        if (type.startsWith('application/json')) {
          spans.push(...spansOf(JSON.parse(body.toString('utf8')) as Wire));
          response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } else {
          const decoded = request.toObject(request.decode(body), { longs: String, oneofs: false });
          spans.push(...spansOf(decoded as Wire));
          // An empty ExportTraceServiceResponse is zero bytes.
          response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        }
      })
      .catch((error: unknown) => {
        response.writeHead(400).end(String(error));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    contentTypes,
    async waitFor(ready, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!ready(spans)) {
        if (Date.now() > deadline) {
          const seen = spans.map((span) => `${span.service} ${span.name}`).join('\n  ');
          throw new Error(`the spans awaited did not arrive within ${timeoutMs} ms; received:\n  ${seen}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return spans;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** In the order they started. */
export function byStart(spans: readonly ReceivedSpan[]): ReceivedSpan[] {
  return [...spans].sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
}

/** The spans of one trace, and ways to walk its tree. */
export function traceOf(spans: readonly ReceivedSpan[], traceId: string) {
  const inTrace = spans.filter((span) => span.traceId === traceId);
  return {
    spans: inTrace,
    named: (name: string) => inTrace.filter((span) => span.name === name),
    childrenOf: (parent: ReceivedSpan) => inTrace.filter((span) => span.parentSpanId === parent.spanId),
    /** Every span below `ancestor`, however deep. */
    under(ancestor: ReceivedSpan): ReceivedSpan[] {
      const below: ReceivedSpan[] = [];
      const visit = (span: ReceivedSpan) => {
        for (const child of inTrace.filter((each) => each.parentSpanId === span.spanId)) {
          below.push(child);
          visit(child);
        }
      };
      visit(ancestor);
      return below;
    },
  };
}
