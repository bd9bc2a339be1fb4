import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, queryOnce, type TestDatabase } from '../helpers/database.js';
import { type OtlpReceiver, startOtlpReceiver, traceOf } from '../helpers/otlp-receiver.js';
import { freePort, type ServiceProcess, startServiceProcess } from '../helpers/service-process.js';

// A saga whose process is killed (SIGKILL, no goodbye) after its first branch committed, resumed by the
// next process once the lease has run out: its spans there start a new trace, linked to the first.

let receiver: OtlpReceiver;
let database: TestDatabase;
const processes: ServiceProcess[] = [];

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  database = await createTestDatabase();
});

afterAll(async () => {
  await Promise.all(processes.map((process) => process.kill()));
  await receiver?.close();
  await database?.drop();
});

describe('tracing a saga across a crash', () => {
  it('resumes it in a trace linked to the one it was begun in, with the takeover as an event', async () => {
    const port = await freePort();
    const env = (faults: Record<string, string>) => ({
      ...faults,
      PORT: String(port),
      DATABASE_URL: database.url,
      JWT_SECRET: 'tracing-resume-secret-tracing-resume-secret',
      SAGA_LEASE_MS: '2000',
      RECOVERY_INTERVAL_MS: '100',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    const first = await startServiceProcess(env({ FAULTS: 'user.saveUser.afterCommit=exit' }));
    processes.push(first);
    const exited = once(first.child, 'exit');

    // The caller's own trace: the registration joins it (W3C traceparent), so the test knows its id.
    const traceId = randomBytes(16).toString('hex');
    const traceparent = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
    await fetch(`${first.url}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent },
      body: JSON.stringify({ id: 31, name: 'Crashed', gender: 'x', score: 3 }),
      signal: AbortSignal.timeout(10_000),
    }).catch(() => undefined); // the process dies before it answers
    await exited;
    expect(first.output()).toContain('"point":"user.saveUser.afterCommit"');

    // saveUser committed with the saga's row riding in it: the row names the caller's trace.
    const [row] = await queryOnce(database.url, 'SELECT gid, status, trace_context FROM saga');
    expect(row).toMatchObject({ status: 'pending', trace_context: expect.stringMatching(`^00-${traceId}-`) });
    const gid = String(row?.gid);
    const sagaSpanId = String(row?.trace_context).split('-')[2];

    processes.push(await startServiceProcess(env({})));
    const spans = await receiver.waitFor(
      (all) =>
        all.some(
          (span) =>
            span.name === 'saga register' &&
            span.attributes['saga.gid'] === gid &&
            span.attributes['saga.status'] === 'succeeded',
        ),
      20_000,
    );
    const resumed = spans.find(
      (span) => span.name === 'saga register' && span.attributes['saga.gid'] === gid,
    );
    expect(resumed?.parentSpanId).toBeUndefined();
    expect(resumed?.traceId).not.toBe(traceId);
    expect(resumed?.links).toEqual([
      { traceId, spanId: sagaSpanId, attributes: { 'saga.resume.reason': 'takeover' } },
    ]);
    expect(resumed?.events).toEqual([
      { name: 'saga.resumed', attributes: { 'saga.resume.reason': 'takeover' } },
    ]);
    // The rest of the saga runs in the new trace: saveUserScore, under the resumed saga.
    const trace = traceOf(spans, resumed?.traceId as string);
    expect(trace.childrenOf(resumed as (typeof spans)[number]).map((span) => span.name)).toEqual([
      'step saveUserScore',
    ]);
    expect((await queryOnce(database.url, 'SELECT status FROM saga'))[0]?.status).toBe('succeeded');
  }, 60_000);
});
