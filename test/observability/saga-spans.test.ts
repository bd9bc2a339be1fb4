import { setTimeout as sleep } from 'node:timers/promises';
import { SpanStatusCode } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSagaLog } from '../../src/db/saga-log.js';
import { TransientFailure } from '../../src/domain/errors.js';
import type { SagaLog } from '../../src/domain/saga.js';
import type { RegisterInput, RegisterServices } from '../../src/machines/register-saga.js';
import { registerSaga } from '../../src/machines/register-saga.js';
import { SagaCoordinator } from '../../src/machines/runtime/saga-coordinator.js';
import { traceIdOf } from '../../src/machines/runtime/saga-tracing.js';
import { createSagaTracing, RESUMED_EVENT } from '../../src/observability/tracing/saga-spans.js';
import { controlledServices } from '../helpers/controlled-services.js';
import { createTestDatabase, queryOnce, type TestDatabase } from '../helpers/database.js';

// The runtime's spans, in process: the coordinator over a real database, its SagaTracing over an SDK
// tracer that keeps every ended span in memory. (The process-level tests, tracing*.test.ts, add the
// HTTP, gRPC and database spans of the instrumentations and the OTLP export.)

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('saga-spans.test');

let database: TestDatabase;
const coordinators: SagaCoordinator[] = [];
let nextId = 1;

beforeAll(async () => {
  provider.register(); // AsyncLocalStorage: the active span follows the saga's async work
  database = await createTestDatabase();
});
afterEach(async () => {
  await Promise.all(coordinators.splice(0).map((coordinator) => coordinator.stop(0)));
  exporter.reset();
});
afterAll(async () => {
  await database?.drop();
  await provider.shutdown();
});

async function coordinator(
  services: RegisterServices,
  options: { log?: SagaLog; riding?: boolean; traced?: boolean } = {},
) {
  const instance = new SagaCoordinator({
    log: options.log ?? createSagaLog(database.db),
    leaseMs: 5_000,
    recoveryIntervalMs: 100,
    timeoutMs: 30_000,
    policy: { baseMs: 10, factor: 2, maxMs: 50 },
    alertRetryLimit: 5,
    ...(options.traced === false ? {} : { tracing: createSagaTracing(tracer) }),
  });
  instance.define(registerSaga, services, options.riding ? ['users', 'scores'] : []);
  coordinators.push(instance);
  await instance.start();
  return instance;
}

function registration(score = 1): { gid: string; input: RegisterInput } {
  const id = nextId++;
  return {
    gid: `gid-${id}-${Math.random().toString(36).slice(2, 8)}`,
    input: { user: { id, name: `user ${id}`, gender: 'x' }, score, sealedPasswordHash: null },
  };
}

/** Begins a saga inside a span standing for the HTTP request, and waits for its end. */
async function beginInRequest(saga: SagaCoordinator, gid: string, input: RegisterInput) {
  return tracer.startActiveSpan('POST /register', async (request) => {
    const started = await saga.begin('register', gid, input);
    request.end();
    if (!started.created) throw new Error('not created');
    return { request, result: await started.result, traceContext: started.traceContext };
  });
}

async function eventually<T>(read: () => T | Promise<T>, accept: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await read();
    if (accept(value) || Date.now() > deadline) return value;
    await sleep(50);
  }
}

const sagaSpans = (gid: string) =>
  exporter
    .getFinishedSpans()
    .filter((span) => span.name === 'saga register' && span.attributes['saga.gid'] === gid);
const childrenOf = (parent: ReadableSpan) =>
  exporter
    .getFinishedSpans()
    .filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId);
const stepsOf = (parent: ReadableSpan) =>
  childrenOf(parent)
    .filter((span) => span.name.startsWith('step '))
    .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1])
    .map((span) => ({
      name: span.name,
      op: span.attributes['saga.op'],
      attempt: span.attributes['saga.attempt'],
      barrier: span.attributes['saga.barrier'],
      error: span.attributes['error.type'],
      status: span.status.code,
    }));

async function storedTraceContext(gid: string): Promise<unknown> {
  const [row] = await queryOnce(database.url, 'SELECT trace_context FROM saga WHERE gid = ?', [gid]);
  return row?.trace_context;
}

describe('saga spans', () => {
  it('puts a saga under the request that began it, with a span per step attempt', async () => {
    const world = controlledServices(database);
    world.fail('saveUser', new TransientFailure('unavailable', 'user service down'));
    const saga = await coordinator(world.services);
    const { gid, input } = registration();
    const { request, result } = await beginInRequest(saga, gid, input);
    expect(result.status).toBe('succeeded');

    const [span] = await eventually(
      () => sagaSpans(gid),
      (spans) => spans.length === 1,
    );
    expect(span?.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(span?.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(span?.attributes).toMatchObject({
      'saga.gid': gid,
      'saga.type': 'register',
      'saga.status': 'succeeded',
    });
    expect(stepsOf(span as ReadableSpan)).toEqual([
      {
        name: 'step saveUser',
        op: 'action',
        attempt: 1,
        barrier: undefined,
        error: 'unavailable',
        status: SpanStatusCode.ERROR,
      },
      {
        name: 'step saveUser',
        op: 'action',
        attempt: 2,
        barrier: 'done',
        error: undefined,
        status: SpanStatusCode.UNSET,
      },
      {
        name: 'step saveUserScore',
        op: 'action',
        attempt: 1,
        barrier: 'done',
        error: undefined,
        status: SpanStatusCode.UNSET,
      },
    ]);
  });

  it('shows an aborted saga compensating, newest branch first, with what each barrier did', async () => {
    const saga = await coordinator(controlledServices(database).services);
    const { gid, input } = registration(10);
    const { result } = await beginInRequest(saga, gid, input);
    expect(result.status).toBe('aborted');

    const [span] = await eventually(
      () => sagaSpans(gid),
      (spans) => spans.length === 1,
    );
    expect(span?.attributes).toMatchObject({ 'saga.status': 'aborted', 'error.type': 'score_rejected' });
    expect(stepsOf(span as ReadableSpan)).toEqual([
      {
        name: 'step saveUser',
        op: 'action',
        attempt: 1,
        barrier: 'done',
        error: undefined,
        status: SpanStatusCode.UNSET,
      },
      {
        name: 'step saveUserScore',
        op: 'action',
        attempt: 1,
        barrier: undefined,
        error: 'score_rejected',
        status: SpanStatusCode.ERROR,
      },
      // The refused action rolled back whole: its compensation finds nothing to undo.
      {
        name: 'step saveUserScoreCallback',
        op: 'compensate',
        attempt: 1,
        barrier: 'nullCompensation',
        error: undefined,
        status: SpanStatusCode.UNSET,
      },
      {
        name: 'step saveUserCallback',
        op: 'compensate',
        attempt: 1,
        barrier: 'done',
        error: undefined,
        status: SpanStatusCode.UNSET,
      },
    ]);
  });

  it.each([
    ['in a statement of its own', false],
    ['in the first branch transaction (riding)', true],
  ])('keeps the saga’s trace context in its row, created %s', async (_how, riding) => {
    const saga = await coordinator(controlledServices(database).services, { riding });
    const { gid, input } = registration();
    const { result, traceContext } = await beginInRequest(saga, gid, input);
    expect(result.status).toBe('succeeded');
    const [span] = await eventually(
      () => sagaSpans(gid),
      (spans) => spans.length === 1,
    );
    const { traceId, spanId } = (span as ReadableSpan).spanContext();
    expect(traceContext).toBe(`00-${traceId}-${spanId}-01`);
    expect(await storedTraceContext(gid)).toBe(traceContext);
    expect(traceIdOf(traceContext)).toBe(traceId);
  });

  it('resumes a saga released by a graceful stop in a new trace linked to the first, as a restart', async () => {
    const world = controlledServices(database);
    const held = world.hold('saveUserScore');
    const first = await coordinator(world.services);
    const { gid, input } = registration();
    const begun = tracer.startActiveSpan('POST /register', async (request) => {
      const started = await first.begin('register', gid, input);
      request.end();
      return started;
    });
    await begun;
    await eventually(
      async () => (await queryOnce(database.url, 'SELECT state FROM saga WHERE gid = ?', [gid]))[0]?.state,
      (state) => state === 'userSaved.calling',
    );
    await first.stop(50); // the held call does not finish: the saga is released to whoever comes next
    held.open();
    await coordinator(world.services);

    const spans = await eventually(
      () => sagaSpans(gid),
      (found) => found.length === 2,
    );
    const [before, after] = spans as [ReadableSpan, ReadableSpan];
    expect(before.attributes['saga.status']).toBe('released');
    expect(after.attributes['saga.status']).toBe('succeeded');
    expect(after.parentSpanContext).toBeUndefined();
    expect(after.spanContext().traceId).not.toBe(before.spanContext().traceId);
    expect(after.links.map((link) => link.context)).toMatchObject([
      { traceId: before.spanContext().traceId, spanId: before.spanContext().spanId },
    ]);
    expect(after.events.map((event) => [event.name, event.attributes])).toEqual([
      [RESUMED_EVENT, { 'saga.resume.reason': 'restart' }],
    ]);
    expect(after.attributes['saga.resume.reason']).toBe('restart');
    expect(stepsOf(after).map((step) => step.name)).toEqual(['step saveUserScore']);
    // The row still names the trace the saga was begun in.
    expect(traceIdOf((await storedTraceContext(gid)) as string)).toBe(before.spanContext().traceId);
  });

  it('resumes a saga whose create lost its answer as a retry', async () => {
    const log = createSagaLog(database.db);
    const answerLost: SagaLog = {
      ...log,
      create: async (saga) => {
        await log.create(saga);
        throw new TransientFailure('unavailable', 'the connection died before the answer came');
      },
    };
    const saga = await coordinator(controlledServices(database).services, { log: answerLost });
    const { gid, input } = registration();
    await expect(saga.begin('register', gid, input)).rejects.toThrow(/answer/);
    const spans = await eventually(
      () => sagaSpans(gid),
      (found) => found.some((span) => span.attributes['saga.status'] === 'succeeded'),
    );
    expect(spans.map((span) => span.attributes['saga.status'])).toEqual(['notCreated', 'succeeded']);
    expect(spans[1]?.events.map((event) => event.attributes)).toEqual([{ 'saga.resume.reason': 'retry' }]);
    expect(spans[1]?.links[0]?.context.spanId).toBe(spans[0]?.spanContext().spanId);
  });

  it('records nothing and keeps no trace context without tracing', async () => {
    const saga = await coordinator(controlledServices(database).services, { traced: false });
    const { gid, input } = registration();
    const started = await saga.begin('register', gid, input);
    expect(started.created && started.traceContext).toBeNull();
    expect(started.created && (await started.result).status).toBe('succeeded');
    expect(await storedTraceContext(gid)).toBeNull();
    expect(sagaSpans(gid)).toEqual([]);
  });

  it('reads trace ids from W3C traceparents only', () => {
    expect(traceIdOf('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
    for (const value of [null, undefined, '', 'not-a-traceparent', '00-4BF92F-00f067aa0ba902b7-01']) {
      expect(traceIdOf(value)).toBeNull();
    }
  });
});
