import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, queryOnce, type TestDatabase } from '../helpers/database.js';
import { freePort, type ServiceProcess, startServiceProcess } from '../helpers/service-process.js';
import { sameDatabase, settledInvariant } from './invariant.js';
import { badAnswers, startRegistrations, waitFor } from './load.js';

let database: TestDatabase;
const processes: ServiceProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(processes.map((service) => service.kill()));
  await database?.drop();
});

const TRANSIENT = 'user.*=transient:30%;score.*=transient:30%';

/**
 * How each of the five lives of the coordinator ends. Four die by a fault at a precise place (the
 * process SIGKILLs itself there), one by a SIGKILL from outside at a random moment.
 */
const deaths: Array<{ faults?: string; killAfterAnswers?: number; point?: string }> = [
  // between saveUser's commit and its reply: the coordinator never learns the user row exists
  {
    faults: `user.saveUser.afterCommit=exit:after=${15 + Math.floor(Math.random() * 30)}`,
    point: 'user.saveUser.afterCommit',
  },
  // after the decision to compensate is durable, before the compensation runs
  {
    faults: `score.saveUserScoreCallback=exit:after=${2 + Math.floor(Math.random() * 6)}`,
    point: 'score.saveUserScoreCallback',
  },
  // right after a saga-log write committed, at a random write: the process never acts on what it wrote
  {
    faults: `saga.log.afterWrite=exit:after=${50 + Math.floor(Math.random() * 100)}`,
    point: 'saga.log.afterWrite',
  },
  // between saveUserScore's commit and its reply
  {
    faults: `score.saveUserScore.afterCommit=exit:after=${10 + Math.floor(Math.random() * 30)}`,
    point: 'score.saveUserScore.afterCommit',
  },
  { killAfterAnswers: 20 + Math.floor(Math.random() * 40) },
];

describe('chaos: the coordinator killed five times under load', () => {
  it('finishes all 500 registrations all-or-nothing within 10 s of the last restart', async () => {
    const port = await freePort();
    const env = (faults: string | undefined, seed: number) => ({
      PORT: String(port),
      DATABASE_URL: database.url,
      JWT_SECRET: 'chaos-kills-secret-chaos-kills-secret-1',
      FAULTS: faults ? `${TRANSIENT};${faults}` : TRANSIENT,
      FAULTS_SEED: String(seed),
      RETRY_BASE_MS: '10',
      RETRY_MAX_MS: '200',
      SAGA_LEASE_MS: '1000',
      RECOVERY_INTERVAL_MS: '100',
    });
    const url = `http://127.0.0.1:${port}`;
    const ids = Array.from({ length: 500 }, (_, index) => 5_000 + index);
    let service = await startServiceProcess(env(deaths[0]?.faults, 1), { mayDieEarly: true });
    processes.push(service);
    const load = startRegistrations({ ids, concurrency: 12, url: () => url, requestTimeoutMs: 20_000 });

    const faultKills: string[] = [];
    const openSagas = async () =>
      (
        await queryOnce(database.url, "SELECT gid FROM saga WHERE status NOT IN ('succeeded', 'aborted')")
      ).map((row) => String(row.gid));
    let openAtLastKill: string[] = [];
    for (const [index, death] of deaths.entries()) {
      const answersBefore = load.settled();
      if (death.killAfterAnswers !== undefined) {
        await waitFor(() => load.settled() >= answersBefore + (death.killAfterAnswers as number), 30_000);
        await sleep(Math.random() * 200);
        await service.kill('SIGKILL');
      } else {
        // The process kills itself at the fault point; give it 30 s to get there.
        const child = service.child;
        const gone = child.exitCode !== null || child.signalCode !== null;
        const exited =
          gone || (await Promise.race([once(child, 'exit').then(() => true), sleep(30_000, false)]));
        if (!exited) await service.kill('SIGKILL');
        if (service.output().includes(`"point":"${death.point}"`)) faultKills.push(death.point as string);
      }
      const next = deaths[index + 1];
      if (!next) openAtLastKill = await openSagas();
      service = await startServiceProcess(env(next?.faults, index + 2), {
        mayDieEarly: next?.faults !== undefined,
      });
      processes.push(service);
    }
    // The sagas the last kill left open are all final within 10 s of the restart.
    const recovered = await waitForAsync(async () => {
      const open = new Set(await openSagas());
      return openAtLastKill.every((gid) => !open.has(gid));
    }, 10_000);
    expect(openAtLastKill.length).toBeGreaterThan(0);
    expect(recovered).toBe(true);
    await load.done;

    // The moments are random each run; they are in the message when this fails.
    expect(faultKills, JSON.stringify(deaths)).toEqual(
      deaths.filter((death) => death.point).map((death) => death.point),
    );
    expect(badAnswers(load.answers)).toEqual([]);
    const report = await settledInvariant(sameDatabase(database.url), 30_000);
    expect(report.violations).toEqual([]);
    expect(report.sagas).toBe(500);
    expect(report.aborted).toBe(100);
  }, 120_000);
});

async function waitForAsync(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}
