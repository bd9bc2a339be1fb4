import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { createSagaLog } from '../../src/db/saga-log.js';
import { createScoreStore } from '../../src/db/score-store.js';
import { createUserStore } from '../../src/db/user-store.js';
import { createScoreService } from '../../src/domain/score-service.js';
import { createSecretBox } from '../../src/domain/secret-box.js';
import { createUserService } from '../../src/domain/user-service.js';
import { registerSaga } from '../../src/machines/register-saga.js';
import { createRegistration } from '../../src/machines/registration.js';
import { SagaCoordinator } from '../../src/machines/runtime/saga-coordinator.js';
import { call } from '../helpers/app.js';
import { createTestDatabase, queryOnce, type TestDatabase } from '../helpers/database.js';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { type ServiceProcess, startServiceProcess } from '../helpers/service-process.js';

// Everything the service writes is collected and searched for the secrets it handled: the passwords,
// their scrypt hashes (whole, and salt and key apart), the JWT secret and the tokens it issued; in the
// spans it exports, also the sealed hashes and the admin and service tokens.

const JWT_SECRET = `jwt-secret-${randomBytes(12).toString('hex')}`;
const ADMIN_TOKEN = `admin-token-${randomBytes(8).toString('hex')}`;
const SERVICE_TOKEN = `service-token-${randomBytes(8).toString('hex')}`;
const password = (label: string) => `pw-${label}-${randomBytes(6).toString('hex')}`;
/** A sealed value (domain/secret-box.ts): version, 12-byte IV, ciphertext, 16-byte tag, base64url. */
const SEALED = /v[12]\.[\w-]{16}\.[\w-]+\.[\w-]{22}/;

/** Every string a hash gives away: the whole hash and its salt and key. */
function hashParts(hash: string): string[] {
  return [hash, ...hash.split('$').filter((part) => part.length >= 16)];
}

function found(haystack: string, needles: readonly string[]): string[] {
  return needles.filter((needle) => haystack.includes(needle));
}

let database: TestDatabase;
let service: ServiceProcess | undefined;
let receiver: OtlpReceiver;

beforeAll(async () => {
  database = await createTestDatabase();
  receiver = await startOtlpReceiver();
});
afterAll(async () => {
  await service?.kill();
  await receiver?.close();
  await database?.drop();
});

describe('secrets never leave in clear', () => {
  it('are in no log line, response, saga log row, barrier row or exported span', async () => {
    service = await startServiceProcess({
      DATABASE_URL: database.url,
      JWT_SECRET,
      ADMIN_TOKEN,
      SERVICE_TOKEN,
      LOG_LEVEL: 'trace',
      // Tracing on: every request, saga, step and statement becomes a span.
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      // Failing steps and compensations, so error paths are logged too.
      FAULTS: 'user.*=transient:40%;score.*=transient:40%',
      FAULTS_SEED: '9',
      RETRY_BASE_MS: '10',
      RETRY_MAX_MS: '100',
    });
    const url = service.url;
    const passwords: string[] = [];
    const responses: string[] = [];
    const tokens: string[] = [];
    const send = async (method: string, path: string, options: Parameters<typeof call>[3] = {}) => {
      const response = await call(url, method, path, options);
      return { ...response, text: JSON.stringify(response.body ?? '') };
    };
    const register = async (body: Record<string, unknown>, headers: Record<string, string> = {}) => {
      if (typeof body.password === 'string') passwords.push(body.password);
      const response = await send('POST', '/register', { body, headers });
      responses.push(response.text);
      return response;
    };

    const ok = password('ok');
    expect((await register({ id: 1, name: 'Ok', gender: 'x', password: ok, score: 3 })).status).toBe(201);
    expect(
      (await register({ id: 2, name: 'Ten', gender: 'x', password: password('ten'), score: 10 })).status,
    ).toBe(422);
    expect((await register({ id: 1, name: 'Taken', gender: 'x', password: password('taken') })).status).toBe(
      409,
    );
    await register(
      { id: 3, name: 'Keyed', gender: 'x', password: password('keyed') },
      { 'idempotency-key': 'k-3' },
    );
    const reused = await register(
      { id: 3, name: 'Keyed', gender: 'x', password: password('reused') },
      { 'idempotency-key': 'k-3' },
    );
    expect(reused.status).toBe(422);
    expect(
      (await register({ name: 'Long', gender: 'x', password: `${password('long')}${'x'.repeat(130)}` }))
        .status,
    ).toBe(400);
    expect((await register({ name: 'Short', gender: 'x', password: 'pw-shrt' })).status).toBe(400);
    passwords.pop();
    expect(
      (await register({ name: 'Wrong', gender: 'x', password: password('extra'), admin: true })).status,
    ).toBe(400);

    const login = await send('POST', '/login', { body: { id: 1, password: ok } });
    expect(login.status).toBe(200);
    tokens.push(login.body.token);
    const wrong = password('wrong');
    passwords.push(wrong);
    for (const body of [
      { id: 1, password: wrong },
      { id: 2, password: wrong },
      { id: 1, password: `${wrong}${'y'.repeat(200)}` },
      { id: 'one', password: wrong },
    ]) {
      const response = await send('POST', '/login', { body });
      expect([400, 401]).toContain(response.status);
      responses.push(response.text);
    }
    const [header, payload] = (login.body.token as string).split('.');
    for (const authorization of [
      `Bearer ${login.body.token}`,
      `Bearer ${header}.${payload}.${'A'.repeat(43)}`,
      `Bearer ${login.body.token}x`,
      login.body.token,
    ]) {
      responses.push((await send('GET', '/user', { headers: { authorization } })).text);
    }
    const gids = (await queryOnce(database.url, 'SELECT gid FROM saga')).map((row) => String(row.gid));
    for (const gid of gids) {
      responses.push(
        (await send('GET', `/sagas/${gid}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text,
      );
    }
    responses.push((await send('GET', '/readyz')).text);

    const hashes = (
      await queryOnce(database.url, 'SELECT password_hash FROM user WHERE password_hash IS NOT NULL')
    ).map((row) => String(row.password_hash));
    expect(hashes.length).toBeGreaterThan(0);
    const sagaRows = JSON.stringify(await queryOnce(database.url, 'SELECT * FROM saga'));
    const barrierRows = JSON.stringify(await queryOnce(database.url, 'SELECT * FROM barrier'));
    const logs = service.output();
    expect(logs).toMatch(/injected fault/); // the error paths really were logged

    const secrets = [...passwords, ...hashes.flatMap(hashParts), JWT_SECRET];
    expect(found(logs, [...secrets, ...tokens]), 'in the log').toEqual([]);
    expect(found(responses.join('\n'), [...secrets, ...tokens]), 'in the responses').toEqual([]);
    expect(found(sagaRows, [...secrets, ...tokens]), 'in the saga log').toEqual([]);
    expect(found(barrierRows, [...secrets, ...tokens]), 'in the barrier table').toEqual([]);

    // Every saga's span has ended and been exported (the last ones end after their answer).
    const spans = await receiver.waitFor(
      (all) =>
        gids.every((gid) =>
          all.some((span) => span.name === 'saga register' && span.attributes['saga.gid'] === gid),
        ),
      20_000,
    );
    const statements = spans.filter((span) => span.scope.includes('mysql2'));
    expect(
      statements.some((span) => /insert into `saga`/.test(String(span.attributes['db.query.text']))),
    ).toBe(true); // the rows that carried the sealed hashes were traced
    const exported = JSON.stringify(spans, (_key, value) => (typeof value === 'bigint' ? `${value}` : value));
    expect(found(exported, [...secrets, ...tokens, ADMIN_TOKEN, SERVICE_TOKEN]), 'in the spans').toEqual([]);
    expect(exported, 'a sealed value in the spans').not.toMatch(SEALED);
  }, 60_000);

  it('are not in the inspection events the coordinator emits (the inspector gets the same)', async () => {
    const events: InspectionEvent[] = [];
    const cache = { max: 10, ttlMs: 60_000 };
    const secrets = createSecretBox(JWT_SECRET);
    const log = createSagaLog(database.db);
    const coordinator = new SagaCoordinator({
      log,
      leaseMs: 5_000,
      recoveryIntervalMs: 1_000,
      timeoutMs: 10_000,
      policy: { baseMs: 10, factor: 2, maxMs: 50 },
      alertRetryLimit: 5,
      inspect: (event) => events.push(event),
    });
    const users = createUserService(createUserStore(database.db), cache);
    coordinator.define(registerSaga, {
      users,
      scores: createScoreService(createScoreStore(database.db), { rejectedValues: [10] }, cache),
      secrets,
    });
    await coordinator.start();
    try {
      const registration = createRegistration({ coordinator, users, log, secrets, waitMs: 5_000 });
      const passwords = [password('inspected'), password('inspected-ten')];
      expect(
        (await registration.register({ id: 100, name: 'Seen', gender: 'x', password: passwords[0] })).status,
      ).toBe('succeeded');
      expect(
        (
          await registration.register({
            id: 101,
            name: 'Ten',
            gender: 'x',
            password: passwords[1],
            score: 10,
          })
        ).status,
      ).toBe('aborted');
      const [row] = await queryOnce(database.url, 'SELECT password_hash FROM user WHERE id = 100');
      const hash = String(row?.password_hash);

      const seen = new WeakSet<object>();
      const stream = JSON.stringify(events, (_key, value: unknown) => {
        if (value !== null && typeof value === 'object') {
          if (seen.has(value)) return undefined;
          seen.add(value);
        }
        return value;
      });
      expect(events.length).toBeGreaterThan(10);
      expect(found(stream, [...passwords, ...hashParts(hash), JWT_SECRET])).toEqual([]);
    } finally {
      await coordinator.stop(0);
    }
  }, 60_000);
});
