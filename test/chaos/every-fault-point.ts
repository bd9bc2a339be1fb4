import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { faultPoints } from '../../src/config/fault-plan.js';
import { createTestDatabase, queryOnce, type TestDatabase } from '../helpers/database.js';
import { freePort, type ServiceProcess, startServiceProcess } from '../helpers/service-process.js';
import { sameDatabase, settledInvariant } from './invariant.js';
import { badAnswers, serviceModeEnv, startRegistrations } from './load.js';

const databases: TestDatabase[] = [];
const processes: ServiceProcess[] = [];

afterAll(async () => {
  await Promise.all(processes.map((service) => service.kill()));
  await Promise.all(databases.map((database) => database.drop()));
});

/** Faults on every replay: branch calls and log writes fail before or after they commit. */
const REPLAY_FAULTS = 'user.*=transient:30%;score.*=transient:30%;saga.log.*=transient:10%';
const TIMEOUT_MS = 1_000;
const LEASE_MS = 1_000;

/**
 * Each fault point in turn: the process kills itself there while sagas run, stays down past every
 * saga's deadline and lease, then comes back with transient faults on the replays (so replayed forward
 * steps fail past the deadline and turn into compensations). Every saga must end all-or-nothing. Run
 * for each way the coordinator reaches its services (load.ts, serviceModeEnv), in a file of its own.
 */
export function everyFaultPoint(mode: 'riding' | 'remote'): void {
  describe(`chaos (${mode}): the process killed at every fault point, restarted past the saga deadline`, () => {
    it.each(faultPoints.map((point, index) => ({ point, index })))(
      'leaves every saga all-or-nothing after a kill at $point',
      async ({ point, index }) => {
        const database = await createTestDatabase();
        databases.push(database);
        const port = await freePort();
        const services = await serviceModeEnv(mode, freePort);
        const env = (faults: string, seed: number) => ({
          ...services,
          PORT: String(port),
          DATABASE_URL: database.url,
          JWT_SECRET: 'every-fault-point-secret-every-fault-point',
          FAULTS: faults,
          FAULTS_SEED: String(seed),
          SAGA_TIMEOUT_MS: String(TIMEOUT_MS),
          SAGA_LEASE_MS: String(LEASE_MS),
          RECOVERY_INTERVAL_MS: '100',
          RETRY_BASE_MS: '10',
          RETRY_MAX_MS: '100',
        });
        // Compensation points are reached only by refused scores; the others after a few sagas ran.
        const after = point.includes('Callback') ? 1 : 4;
        const first = await startServiceProcess(env(`${point}=exit:after=${after}`, index + 1), {
          mayDieEarly: true,
        });
        processes.push(first);
        const url = `http://127.0.0.1:${port}`;
        const ids = Array.from(
          { length: 24 },
          (_, n) => 100_000 * (index + 1) + n + (mode === 'remote' ? 50_000 : 0),
        );
        const load = startRegistrations({
          ids,
          concurrency: 6,
          url: () => url,
          requestTimeoutMs: 20_000,
          scoreOf: (id) => (id % 3 === 0 ? 10 : 1 + (id % 7)),
        });
        const exited = first.child.exitCode !== null || first.child.signalCode !== null;
        const died =
          exited || (await Promise.race([once(first.child, 'exit').then(() => true), sleep(20_000, false)]));
        expect(died, `the process never reached ${point}:\n${first.output()}`).toBe(true);
        expect(first.output()).toContain(`"point":"${point}"`);
        const open = await queryOnce(
          database.url,
          "SELECT gid FROM saga WHERE status NOT IN ('succeeded', 'aborted')",
        );

        await sleep(TIMEOUT_MS + LEASE_MS + 500);
        const second = await startServiceProcess(env(REPLAY_FAULTS, 100 + index));
        processes.push(second);
        await load.done;
        const report = await settledInvariant(sameDatabase(database.url), 30_000);
        await second.kill('SIGTERM');

        expect(report.violations).toEqual([]);
        expect(report.open).toBe(0);
        expect(report.sagas).toBe(ids.length);
        expect(badAnswers(load.answers)).toEqual([]);
        // The kill left work under way, or the point would test nothing (a log point may hit a create).
        expect(open.length + (point.startsWith('saga.log') ? 1 : 0)).toBeGreaterThan(0);
      },
      90_000,
    );
  });
}
