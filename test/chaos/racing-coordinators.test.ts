import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, queryOnce, type TestDatabase } from '../helpers/database.js';
import { type ServiceProcess, startServiceProcess } from '../helpers/service-process.js';
import { sameDatabase, settledInvariant } from './invariant.js';
import { badAnswers, startRegistrations, waitFor } from './load.js';

const LEASE_MS = 2_000;
let database: TestDatabase;
const processes: ServiceProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(processes.map((service) => service.kill()));
  await database?.drop();
});

interface LogLine {
  readonly gid: string;
  readonly leaseExpiresAt?: string;
}

/** A coordinator's JSON log lines with this message ("resuming saga": it took a saga over). */
function logged(service: ServiceProcess, message: string): LogLine[] {
  return service
    .output()
    .split('\n')
    .filter((line) => line.includes(`"msg":"${message}"`))
    .map((line) => JSON.parse(line) as LogLine);
}

describe('chaos: two coordinators on one database racing to recover', () => {
  it('gives each orphaned saga to exactly one of them, and finishes all', async () => {
    const common = {
      DATABASE_URL: database.url,
      JWT_SECRET: 'racing-secret-racing-secret-racing-secret',
      SAGA_LEASE_MS: String(LEASE_MS),
      RECOVERY_INTERVAL_MS: '50',
      RETRY_BASE_MS: '10',
      RETRY_MAX_MS: '200',
      REGISTER_WAIT_MS: '300',
    };
    // The first coordinator holds many sagas in flight (every score call takes 2 s), then dies.
    const first = await startServiceProcess({ ...common, FAULTS: 'score.saveUserScore=delay:2s' });
    processes.push(first);
    const ids = Array.from({ length: 400 }, (_, index) => 1 + index);
    let targets = [first.url];
    let turn = 0;
    const load = startRegistrations({
      ids,
      concurrency: 24,
      url: () => targets[turn++ % targets.length] as string,
      requestTimeoutMs: 20_000,
    });
    await waitFor(() => load.settled() >= 120, 60_000);
    await first.kill('SIGKILL');
    const [open] = await queryOnce(
      database.url,
      "SELECT COUNT(*) AS n FROM saga WHERE status NOT IN ('succeeded', 'aborted')",
    );

    // Two coordinators start together; both recovery loops poll every 50 ms for the same expired leases,
    // while both take new registrations.
    const racers = await Promise.all([
      startServiceProcess({ ...common, LOG_LEVEL: 'info' }),
      startServiceProcess({ ...common, LOG_LEVEL: 'info' }),
    ]);
    processes.push(...racers);
    targets = racers.map((racer) => racer.url);
    await load.done;
    const report = await settledInvariant(sameDatabase(database.url), 30_000);

    expect(Number(open?.n)).toBeGreaterThan(20);
    expect(badAnswers(load.answers)).toEqual([]);
    expect(report.violations).toEqual([]);
    expect(report.sagas).toBe(400);
    // Every orphan was resumed, each claim of a saga a whole lease after the one before (by the database's
    // clock): a second claim of a lease still running, two coordinators on one saga at once, would be
    // milliseconds apart. A saga may change hands only when its holder's lease ran out (a starved process
    // on a busy machine can suffer that); the holder then says so and stops.
    const claims = racers.flatMap((racer, index) =>
      logged(racer, 'resuming saga').map((line) => ({ ...line, racer: index })),
    );
    expect(claims.length).toBeGreaterThanOrEqual(Number(open?.n));
    const byGid = new Map<string, typeof claims>();
    for (const claim of claims) byGid.set(claim.gid, [...(byGid.get(claim.gid) ?? []), claim]);
    const tooClose: string[] = [];
    for (const [gid, list] of byGid) {
      const expiries = list.map((claim) => Date.parse(claim.leaseExpiresAt as string)).sort((x, y) => x - y);
      for (let i = 1; i < expiries.length; i++)
        if ((expiries[i] as number) - (expiries[i - 1] as number) < LEASE_MS) tooClose.push(gid);
    }
    expect(tooClose).toEqual([]);
  }, 120_000);
});
