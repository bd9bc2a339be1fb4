import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { type ServiceProcess, startServiceProcess } from '../helpers/service-process.js';
import { sameDatabase, settledInvariant } from './invariant.js';
import { badAnswers, startRegistrations } from './load.js';

let database: TestDatabase;
let service: ServiceProcess | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await service?.kill();
  await database?.drop();
});

describe('chaos: transient faults at every branch and compensation', () => {
  it('keeps 500 registrations all-or-nothing with 30% of branch calls failing before or after their commit', async () => {
    service = await startServiceProcess({
      DATABASE_URL: database.url,
      // Each branch call and each compensation fails 30% of the time before it runs, and 30% of the time
      // after it committed (the reply is lost): the saga must retry both into one effect.
      FAULTS: 'user.*=transient:30%;score.*=transient:30%',
      FAULTS_SEED: '1',
      RETRY_BASE_MS: '10',
      RETRY_MAX_MS: '200',
    });
    const ids = Array.from({ length: 500 }, (_, index) => 1_000 + index);
    const load = startRegistrations({
      ids,
      concurrency: 16,
      url: () => service!.url,
      requestTimeoutMs: 20_000,
    });
    await load.done;

    expect(badAnswers(load.answers)).toEqual([]);
    const statuses = new Set(load.answers.map((answer) => answer.status));
    expect([...statuses].every((status) => [201, 202, 422].includes(status as number))).toBe(true);

    const report = await settledInvariant(sameDatabase(database.url), 30_000);
    expect(report.violations).toEqual([]);
    expect(report.sagas).toBe(500);
    expect(report.aborted).toBe(100); // exactly the score-10 ones: no transient fault may abort a saga
    expect(report.succeeded).toBe(400);
    // The faults really fired: the service said so as it retried.
    expect(service.output()).toMatch(/injected fault at user\.saveUser\.afterCommit/);
    expect(service.output()).toMatch(/injected fault at score\.saveUserScoreCallback/);
  }, 120_000);
});
