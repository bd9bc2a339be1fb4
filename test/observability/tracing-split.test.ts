import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/app.js';
import { createTestDatabase, queryOnce, type TestDatabase } from '../helpers/database.js';
import {
  type OtlpReceiver,
  type ReceivedSpan,
  startOtlpReceiver,
  traceOf,
} from '../helpers/otlp-receiver.js';
import { freePort, type ServiceProcess, startServiceProcess } from '../helpers/service-process.js';

// The split deployment (api, user and score as three processes over gRPC), every process exporting to
// one receiver in OTLP/JSON: one registration must be one trace across the three.

let receiver: OtlpReceiver;
let userDb: TestDatabase;
let scoreDb: TestDatabase;
let sagaDb: TestDatabase;
const processes: ServiceProcess[] = [];
let api: ServiceProcess;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  [userDb, scoreDb, sagaDb] = await Promise.all([
    createTestDatabase(['user', 'barrier']),
    createTestDatabase(['score', 'barrier']),
    createTestDatabase(['saga']),
  ]);
  const [userPort, scorePort] = [await freePort(), await freePort()];
  const tracing = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '100',
  };
  processes.push(
    ...(await Promise.all([
      startServiceProcess(
        { ...tracing, ROLES: 'user', USER_GRPC_ADDR: `127.0.0.1:${userPort}`, USER_DATABASE_URL: userDb.url },
        { readyGrpc: `127.0.0.1:${userPort}` },
      ),
      startServiceProcess(
        {
          ...tracing,
          ROLES: 'score',
          SCORE_GRPC_ADDR: `127.0.0.1:${scorePort}`,
          SCORE_DATABASE_URL: scoreDb.url,
        },
        { readyGrpc: `127.0.0.1:${scorePort}` },
      ),
    ])),
  );
  api = await startServiceProcess({
    ...tracing,
    ROLES: 'api',
    USER_SERVICE: `grpc://127.0.0.1:${userPort}`,
    SCORE_SERVICE: `grpc://127.0.0.1:${scorePort}`,
    SAGA_DATABASE_URL: sagaDb.url,
    JWT_SECRET: 'split-tracing-secret-split-tracing-secret',
  });
  processes.push(api);
}, 90_000);

afterAll(async () => {
  await Promise.all(processes.map((process) => process.kill()));
  await receiver?.close();
  await Promise.all([userDb, scoreDb, sagaDb].map((database) => database?.drop()));
});

describe('tracing the split deployment', () => {
  it('makes one registration one trace across the api, user and score processes', async () => {
    const response = await call(api.url, 'POST', '/register', {
      body: { id: 7, name: 'Split', gender: 'x', password: 'split password', score: 4 },
    });
    expect(response.status).toBe(201);
    const { gid, traceId } = response.body as { gid: string; traceId: string };
    // Each process exports on its own: wait for the last branch's server span and the saga's end.
    const spans = await receiver.waitFor((all) => {
      const trace = traceOf(all, traceId);
      return (
        trace.named('saga register').length === 1 &&
        trace.spans.some((span) => span.service === 'saga-score' && span.kind === 2)
      );
    });
    const trace = traceOf(spans, traceId);
    expect(new Set(trace.spans.map((span) => span.service))).toEqual(
      new Set(['saga-api', 'saga-user', 'saga-score']),
    );

    const [saga] = trace.named('saga register');
    expect(saga?.attributes['saga.status']).toBe('succeeded');
    for (const [step, service, method] of [
      ['step saveUser', 'saga-user', 'user.User/saveUser'],
      ['step saveUserScore', 'saga-score', 'score.UserScore/saveUserScore'],
    ] as const) {
      const [stepSpan] = trace.named(step);
      expect(stepSpan?.parentSpanId).toBe(saga?.spanId);
      expect(stepSpan?.attributes['saga.barrier']).toBe('done');
      // The gRPC client span under the step, in the api; the server span under it, in the service
      // (the context crossed in the call's metadata, as a W3C traceparent).
      const client = trace.childrenOf(stepSpan as ReceivedSpan).find((span) => span.kind === 3);
      expect(client).toMatchObject({ service: 'saga-api', name: `grpc.${method}` });
      expect(client?.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.grpc.status_code': 0 });
      const server = trace.childrenOf(client as ReceivedSpan);
      expect(server).toMatchObject([{ service, kind: 2, name: `grpc.${method}` }]);
      // And the branch's transaction in that service's database, under its server span.
      const statements = trace
        .under(server[0] as ReceivedSpan)
        .filter((span) => span.scope.includes('mysql2'));
      expect(statements.length).toBeGreaterThan(0);
      expect(statements.every((span) => span.service === service)).toBe(true);
    }
    expect(new Set(receiver.contentTypes)).toEqual(new Set(['application/json']));

    // The api writes the saga's row in a statement of its own here: it keeps the trace context too.
    const [row] = await queryOnce(sagaDb.url, 'SELECT trace_context FROM saga WHERE gid = ?', [gid]);
    expect(row?.trace_context).toBe(`00-${traceId}-${saga?.spanId}-01`);
  });
});
