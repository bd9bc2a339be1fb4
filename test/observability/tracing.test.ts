import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/app.js';
import { createTestDatabase, queryOnce, type TestDatabase } from '../helpers/database.js';
import {
  byStart,
  type OtlpReceiver,
  type ReceivedSpan,
  startOtlpReceiver,
  traceOf,
} from '../helpers/otlp-receiver.js';
import { type ServiceProcess, startServiceProcess } from '../helpers/service-process.js';

// The monolith as `npm start` runs it, exporting to an OTLP receiver of the test's own (protobuf, the
// default); and the same service with tracing off, which must not load OpenTelemetry at all.

const ADMIN_TOKEN = 'tracing-admin-token-0123456789';
const JWT_SECRET = 'tracing-test-secret-tracing-test-secret';
const preload = fileURLToPath(new URL('../helpers/record-modules.mjs', import.meta.url));
const folder = mkdtempSync(join(tmpdir(), 'saga-tracing-'));
const modulesOf = (name: string) => readFileSync(join(folder, name), 'utf8').split('\n');

let receiver: OtlpReceiver;
let database: TestDatabase;
let plainDatabase: TestDatabase;
let traced: ServiceProcess;
let plain: ServiceProcess;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  [database, plainDatabase] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  const common = { JWT_SECRET, ADMIN_TOKEN, NODE_OPTIONS: `--import=${preload}` };
  [traced, plain] = await Promise.all([
    startServiceProcess({
      ...common,
      DATABASE_URL: database.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      TRACE_URL_TEMPLATE: 'https://jaeger.example/trace/{traceId}',
      LOG_LEVEL: 'info',
      RECORD_MODULES_TO: join(folder, 'traced'),
    }),
    startServiceProcess({
      ...common,
      DATABASE_URL: plainDatabase.url,
      RECORD_MODULES_TO: join(folder, 'plain'),
    }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([traced?.kill(), plain?.kill()]);
  await receiver?.close();
  await Promise.all([database?.drop(), plainDatabase?.drop()]);
  rmSync(folder, { recursive: true, force: true });
});

const register = (service: ServiceProcess, body: Record<string, unknown>) =>
  call(service.url, 'POST', '/register', { body });

/** Waits for the saga's span (it ends last, after the HTTP answer) and returns its trace. */
async function sagaTrace(gid: string, traceId: string) {
  const spans = await receiver.waitFor((all) =>
    all.some((span) => span.name === 'saga register' && span.attributes['saga.gid'] === gid),
  );
  return traceOf(spans, traceId);
}

const stepsOf = (spans: readonly ReceivedSpan[]) =>
  byStart(spans.filter((span) => span.name.startsWith('step '))).map((span) => ({
    name: span.name,
    op: span.attributes['saga.op'],
    attempt: span.attributes['saga.attempt'],
    barrier: span.attributes['saga.barrier'],
    error: span.attributes['error.type'],
  }));

// The instrumentation writes the stable database conventions (db.system.name, db.query.text).
const systemOf = (span: ReceivedSpan) => span.attributes['db.system.name'] ?? span.attributes['db.system'];
const statementOf = (span: ReceivedSpan) =>
  String(span.attributes['db.statement'] ?? span.attributes['db.query.text'] ?? '');

describe('tracing a registration (monolith)', () => {
  it('traces it from the HTTP request to each step and its statements, one trace', async () => {
    const name = 'Traced Ada';
    const response = await register(traced, {
      id: 1,
      name,
      gender: 'f',
      password: 'correct horse',
      score: 5,
    });
    expect(response.status).toBe(201);
    const { gid, traceId } = response.body as { gid: string; traceId: string };
    expect(traceId).toMatch(/^[\da-f]{32}$/);
    const trace = await sagaTrace(gid, traceId);

    const [server] = trace.named('POST /register');
    expect(server).toMatchObject({ kind: 2, parentSpanId: undefined, service: 'saga-api-user-score' });
    expect(server?.attributes).toMatchObject({ 'http.route': '/register', 'http.response.status_code': 201 });
    const [saga] = trace.named('saga register');
    expect(saga?.parentSpanId).toBe(server?.spanId);
    expect(saga?.attributes).toMatchObject({
      'saga.gid': gid,
      'saga.type': 'register',
      'saga.status': 'succeeded',
    });
    const steps = trace.childrenOf(saga as ReceivedSpan);
    expect(stepsOf(steps)).toEqual([
      { name: 'step saveUser', op: 'action', attempt: 1, barrier: 'done', error: undefined },
      { name: 'step saveUserScore', op: 'action', attempt: 1, barrier: 'done', error: undefined },
    ]);

    // Each step's transaction as statements (the saga's row rides in them here), without their values.
    for (const step of steps) {
      const statements = trace.under(step).filter((span) => span.scope.includes('mysql2'));
      expect(statements.length, step.name).toBeGreaterThan(0);
      expect(statements.every((span) => span.kind === 3 && systemOf(span) === 'mysql')).toBe(true);
      const text = statements.map(statementOf).join('\n');
      expect(text).toMatch(/`barrier`/);
      expect(text).toMatch(/`saga`/);
      expect(text).toMatch(step.name === 'step saveUser' ? /`user`/ : /`user_score`/);
      expect(text).toContain('?');
      for (const value of [name, gid, 'correct horse']) expect(text).not.toContain(value);
    }
    expect(trace.spans.every((span) => span.service === 'saga-api-user-score')).toBe(true);

    // The row keeps the saga span's context, for whoever resumes it.
    const [row] = await queryOnce(database.url, 'SELECT trace_context FROM saga WHERE gid = ?', [gid]);
    expect(row?.trace_context).toBe(`00-${traceId}-${saga?.spanId}-01`);
  });

  it('traces an aborted registration through its compensations, and logs with its ids', async () => {
    const response = await register(traced, { id: 2, name: 'Ten', gender: 'x', score: 10 });
    expect(response.status).toBe(422);
    const { gid, traceId } = response.body as { gid: string; traceId: string };
    const trace = await sagaTrace(gid, traceId);
    const [saga] = trace.named('saga register');
    expect(saga?.attributes).toMatchObject({ 'saga.status': 'aborted', 'error.type': 'score_rejected' });
    expect(stepsOf(trace.childrenOf(saga as ReceivedSpan))).toEqual([
      { name: 'step saveUser', op: 'action', attempt: 1, barrier: 'done', error: undefined },
      { name: 'step saveUserScore', op: 'action', attempt: 1, barrier: undefined, error: 'score_rejected' },
      {
        name: 'step saveUserScoreCallback',
        op: 'compensate',
        attempt: 1,
        barrier: 'nullCompensation',
        error: undefined,
      },
      { name: 'step saveUserCallback', op: 'compensate', attempt: 1, barrier: 'done', error: undefined },
    ]);
    const [refused] = trace.named('step saveUserScore');
    expect(refused?.status).toEqual({ code: 2, message: 'score_rejected' });
    expect(trace.named('POST /register')[0]?.attributes['http.response.status_code']).toBe(422);

    // The coordinator's line about the refusal carries the trace's ids.
    const line = traced
      .output()
      .split('\n')
      .filter((text) => text.startsWith('{'))
      .map((text) => JSON.parse(text) as Record<string, unknown>)
      .find((fields) => fields.gid === gid && fields.msg === 'step refused; compensating');
    expect(line).toMatchObject({ trace_id: traceId, span_id: expect.stringMatching(/^[\da-f]{16}$/) });
  });

  it('shows the trace id in the saga view, linked to the trace UI', async () => {
    const response = await register(traced, { id: 3, name: 'Viewed', gender: 'x' });
    const { gid, traceId } = response.body as { gid: string; traceId: string };
    const view = await call(traced.url, 'GET', `/sagas/${gid}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(view.body).toMatchObject({ traceId, traceUrl: `https://jaeger.example/trace/${traceId}` });
  });

  it('leaves probes and background queries out, and exports protobuf', async () => {
    await call(traced.url, 'GET', '/healthz');
    const response = await register(traced, { id: 4, name: 'Last', gender: 'x' });
    await sagaTrace(response.body.gid, response.body.traceId);
    const spans = receiver.spans;
    expect(
      spans.filter((span) => /healthz|readyz|metrics/.test(`${span.name} ${span.attributes['url.path']}`)),
    ).toEqual([]);
    // Lease renewals, recovery passes and counts run every second or so: none is a trace of its own.
    expect(spans.filter((span) => span.parentSpanId === undefined).map((span) => span.name)).toEqual(
      expect.arrayContaining(['POST /register']),
    );
    expect(spans.filter((span) => span.parentSpanId === undefined && span.kind === 3)).toEqual([]);
    expect(new Set(receiver.contentTypes)).toEqual(new Set(['application/x-protobuf']));
    expect(traced.output()).toContain('tracing on: spans go to');
  });

  it('loads no OpenTelemetry module with tracing off, and gives no trace id', async () => {
    const response = await register(plain, { id: 1, name: 'Plain', gender: 'x', score: 5 });
    expect(response.status).toBe(201);
    expect(response.body.traceId).toBeUndefined();
    const view = await call(plain.url, 'GET', `/sagas/${response.body.gid}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(view.body).toMatchObject({ traceId: null, traceUrl: null });

    // prom-client requires @opentelemetry/api (the API alone, a no-op without an SDK, for its exemplars)
    // whatever we do; nothing else of OpenTelemetry may load: no SDK, exporter or instrumentation.
    const opentelemetry = (file: string) =>
      modulesOf(file).filter(
        (line) =>
          /[/\\]@opentelemetry[/\\]|[/\\]@fastify[/\\]otel[/\\]/.test(line) &&
          !/[/\\]@opentelemetry[/\\]api[/\\]/.test(line),
      );
    // The recorder sees them when they are loaded: the traced process loads the SDK and instrumentations.
    const seen = opentelemetry('traced').join('\n');
    for (const name of [
      'sdk-trace-node',
      'instrumentation-mysql2',
      'instrumentation-grpc',
      '@fastify/otel',
    ]) {
      expect(seen).toContain(name);
    }
    expect(modulesOf('plain').some((line) => line.includes('/mysql2/'))).toBe(true);
    expect(opentelemetry('plain')).toEqual([]);
  });
});
