import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findServerBinaries, type PrivateServer, startPrivateServer } from '../../src/db/local-server.js';
import { forgeToken, TEST_ADMIN_TOKEN, TEST_JWT_SECRET } from '../helpers/app.js';
import { type ServiceProcess, startServiceProcess } from '../helpers/service-process.js';
import { sameDatabase, settledInvariant } from './invariant.js';
import { badAnswers, startRegistrations, waitFor } from './load.js';

const quiet = { info() {}, warn() {} };
let dir: string;
let server: PrivateServer | undefined;
let service: ServiceProcess | undefined;

// A private server, so the shared one other test files use is never touched.
describe.runIf(findServerBinaries() !== undefined)('chaos: the database server restarted under load', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'saga-chaos-db-'));
    server = await startPrivateServer(join(dir, 'mysql'), quiet);
  }, 120_000);
  afterAll(async () => {
    await service?.kill();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function probe(path: string, init: RequestInit = {}) {
    try {
      const response = await fetch(`${service!.url}${path}`, { ...init, signal: AbortSignal.timeout(5_000) });
      return response.status;
    } catch (error) {
      return (error as Error).name === 'TimeoutError' ? 'hang' : 'network';
    }
  }

  it('keeps running, answers 503 (never 500, never a hang) while it is down, and finishes every saga after', async () => {
    const port = server!.port;
    const url = `${server!.url}saga`;
    service = await startServiceProcess({
      DATABASE_URL: url,
      RETRY_BASE_MS: '20',
      RETRY_MAX_MS: '500',
      REGISTER_WAIT_MS: '2000',
      SAGA_TIMEOUT_MS: '60000',
      JWT_SECRET: TEST_JWT_SECRET,
      ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    });
    const ids = Array.from({ length: 300 }, (_, index) => 1 + index);
    const load = startRegistrations({
      ids,
      concurrency: 8,
      url: () => service!.url,
      requestTimeoutMs: 10_000,
    });
    await waitFor(() => load.settled() >= 60, 60_000);

    await server!.stop();
    server = undefined;
    const outageStart = load.answers.length;
    const readyDuringOutage: Array<number | string> = [];
    const liveDuringOutage: Array<number | string> = [];
    const othersDuringOutage: Array<number | string> = [];
    const token = forgeToken({
      userId: 1,
      iat: Math.floor(Date.now() / 1000),
      exp: Math.floor(Date.now() / 1000) + 600,
    });
    for (let i = 0; i < 8; i++) {
      readyDuringOutage.push(await probe('/readyz'));
      liveDuringOutage.push(await probe('/healthz'));
      // The other routes: an answer from the cache (200) or a clear 503, never a 500 or a hang.
      othersDuringOutage.push(
        await probe('/login', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id: 10_000 + i, password: 'no such user' }),
        }),
        await probe('/user', { headers: { authorization: `Bearer ${token}` } }),
        await probe('/sagas/some-gid', { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } }),
      );
      await sleep(400);
    }
    const answersDuringOutage = load.answers.slice(outageStart);

    server = await startPrivateServer(join(dir, 'mysql'), quiet, { port });
    let readyAgain = false;
    for (const deadline = Date.now() + 30_000; !readyAgain && Date.now() < deadline; await sleep(200)) {
      readyAgain = (await probe('/readyz')) === 200;
    }
    await load.done;

    expect(readyDuringOutage.every((status) => status === 503)).toBe(true);
    expect(liveDuringOutage.every((status) => status === 200)).toBe(true);
    expect(othersDuringOutage.filter((status) => status !== 503 && status !== 200)).toEqual([]);
    expect(readyAgain).toBe(true);
    // During the outage: a clear 503 (or 202 for a saga accepted before), never a 500 or a hang.
    expect(answersDuringOutage.length).toBeGreaterThan(0);
    expect(
      answersDuringOutage.filter((answer) => ![503, 202, 201, 422].includes(answer.status as number)),
    ).toEqual([]);
    expect(answersDuringOutage.some((answer) => answer.status === 503)).toBe(true);
    // Registrations whose saga was already under way when the database went: accepted, pending.
    expect(answersDuringOutage.some((answer) => answer.status === 202)).toBe(true);
    expect(badAnswers(load.answers)).toEqual([]);
    expect(service!.child.exitCode).toBeNull();

    const report = await settledInvariant(sameDatabase(url), 30_000);
    expect(report.violations).toEqual([]);
    expect(report.sagas).toBe(300);
    expect(report.aborted).toBe(60);
    expect(service!.output()).not.toMatch(/"level":60|unhandled|uncaught/i);
  }, 120_000);
});
