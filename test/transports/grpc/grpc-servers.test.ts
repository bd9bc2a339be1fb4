import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../../src/db/connection.js';
import { createSagaLog } from '../../../src/db/saga-log.js';
import { createScoreStore } from '../../../src/db/score-store.js';
import { createUserStore } from '../../../src/db/user-store.js';
import { BusinessFailure, NotFound, TransientFailure } from '../../../src/domain/errors.js';
import { createScoreService } from '../../../src/domain/score-service.js';
import { createSecretBox } from '../../../src/domain/secret-box.js';
import { createUserService, type UserService } from '../../../src/domain/user-service.js';
import { registerSaga } from '../../../src/machines/register-saga.js';
import { SagaCoordinator } from '../../../src/machines/runtime/saga-coordinator.js';
import {
  channelCredentials,
  serverCredentials,
  tokenChecker,
} from '../../../src/transports/grpc/credentials.js';
import { type RunningGrpcServer, startGrpcServer } from '../../../src/transports/grpc/grpc-server.js';
import { loadProtos } from '../../../src/transports/grpc/protos.js';
import { createScoreClient } from '../../../src/transports/grpc/score-client.js';
import { scoreHandlers } from '../../../src/transports/grpc/score-handlers.js';
import { createUserClient } from '../../../src/transports/grpc/user-client.js';
import { userHandlers } from '../../../src/transports/grpc/user-handlers.js';
import { createTestDatabase, queryOnce, type TestDatabase } from '../../helpers/database.js';
import {
  type Certificates,
  dtmMetadata,
  healthCheck,
  makeCertificates,
  rawCall,
  rawClients,
  reflectedServices,
  SERVICE_TOKEN,
} from '../../helpers/grpc.js';

let database: TestDatabase;
const servers: RunningGrpcServer[] = [];
let userAddress: string;
let scoreAddress: string;
let nextId = 5_000;
const calls = { user: 0 };
const quiet = { error() {}, debug() {} };

const cache = { max: 100, ttlMs: 60_000 };

async function startUserServer(
  credentials = grpc.ServerCredentials.createInsecure(),
  counted = false,
  users: UserService = createUserService(createUserStore(database.db), cache),
) {
  const handlers = userHandlers(users, {
    authorized: tokenChecker(SERVICE_TOKEN),
    logger: quiet,
    ...(counted ? { observe: () => void calls.user++ } : {}),
  });
  const server = await startGrpcServer(
    { host: '127.0.0.1', port: 0 },
    { name: 'user.User', definition: loadProtos().user.User.service, implementation: handlers },
    credentials,
  );
  servers.push(server);
  return server;
}

beforeAll(async () => {
  database = await createTestDatabase(['user', 'score', 'barrier', 'saga']);
  userAddress = (await startUserServer()).address;
  const scores = createScoreService(createScoreStore(database.db), { rejectedValues: [10] }, cache);
  const scoreServer = await startGrpcServer(
    { host: '127.0.0.1', port: 0 },
    {
      name: 'score.UserScore',
      definition: loadProtos().score.UserScore.service,
      implementation: scoreHandlers(scores, { authorized: tokenChecker(SERVICE_TOKEN), logger: quiet }),
    },
    grpc.ServerCredentials.createInsecure(),
  );
  servers.push(scoreServer);
  scoreAddress = scoreServer.address;
});
afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop(1_000)));
  await database?.drop();
});

async function userRows(id: number) {
  const rows = await queryOnce(database.url, 'SELECT COUNT(*) AS n FROM user WHERE id = ?', [id]);
  return Number(rows[0]?.n);
}

describe('user.User over gRPC, called the way DTM calls it', () => {
  it('inserts once when /user.User/saveUser is called twice with one barrier identity', async () => {
    const { user } = rawClients(userAddress);
    const id = nextId++;
    const request = { id: String(id), name: 'dtm', gender: 'x' };
    const first = await rawCall(
      user.saveUser.bind(user),
      request,
      dtmMetadata({ gid: `dtm-${id}`, op: 'action' }),
    );
    const second = await rawCall(
      user.saveUser.bind(user),
      request,
      dtmMetadata({ gid: `dtm-${id}`, op: 'action' }),
    );

    expect(first).toMatchObject({
      ok: true,
      response: { id: String(id), name: 'dtm', gender: 'x', barrier: 'done' },
    });
    expect(second).toMatchObject({ ok: true, response: { barrier: 'duplicate' } });
    expect(await userRows(id)).toBe(1);
  });

  it('answers INVALID_ARGUMENT for a branch method called without barrier metadata', async () => {
    const { user } = rawClients(userAddress);
    const outcome = await rawCall(
      user.saveUser.bind(user),
      { id: '1', name: 'n', gender: 'g' },
      dtmMetadata({}),
    );
    expect(outcome).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
  });

  it('answers UNAUTHENTICATED without the service token or with a wrong one, compensations included', async () => {
    const { user } = rawClients(userAddress);
    const id = nextId++;
    const noToken = await rawCall(
      user.saveUser.bind(user),
      { id: String(id), name: 'n', gender: 'g' },
      dtmMetadata({ gid: `t-${id}`, op: 'action' }, null),
    );
    const wrongToken = await rawCall(
      user.saveUserCallback.bind(user),
      { id: String(id) },
      dtmMetadata({ gid: `t-${id}`, op: 'compensate' }, 'not-the-service-token-at-all'),
    );
    expect(noToken).toMatchObject({ ok: false, code: grpc.status.UNAUTHENTICATED });
    expect(wrongToken).toMatchObject({ ok: false, code: grpc.status.UNAUTHENTICATED });
    expect(await userRows(id)).toBe(0);
  });

  it('answers ABORTED, saying it was already compensated, for an action after its compensation (hanging)', async () => {
    const { user } = rawClients(userAddress);
    const id = nextId++;
    const undo = await rawCall(
      user.saveUserCallback.bind(user),
      { id: String(id) },
      dtmMetadata({ gid: `h-${id}`, op: 'compensate' }),
    );
    const late = await rawCall(
      user.saveUser.bind(user),
      { id: String(id), name: 'late', gender: 'x' },
      dtmMetadata({ gid: `h-${id}`, op: 'action' }),
    );
    expect(undo).toMatchObject({ ok: true, response: { barrier: 'nullCompensation' } });
    expect(late).toMatchObject({ ok: false, code: grpc.status.ABORTED, errorCode: 'branch_compensated' });
    expect((late as { details: string }).details).toMatch(/already compensated/);
    expect(await userRows(id)).toBe(0);
  });

  it('answers ABORTED for a business refusal (a taken id)', async () => {
    const { user } = rawClients(userAddress);
    const id = nextId++;
    await rawCall(
      user.saveUser.bind(user),
      { id: String(id), name: 'a', gender: 'x' },
      dtmMetadata({ gid: `a-${id}`, op: 'action' }),
    );
    const taken = await rawCall(
      user.saveUser.bind(user),
      { id: String(id), name: 'b', gender: 'x' },
      dtmMetadata({ gid: `b-${id}`, op: 'action' }),
    );
    expect(taken).toMatchObject({ ok: false, code: grpc.status.ABORTED, errorCode: 'duplicate_user' });
  });

  it.each([
    ['an id that is not a number', { id: 'abc', name: 'n', gender: 'g' }, { op: 'action' }],
    ['an id above 2^53−1', { id: '9007199254740993', name: 'n', gender: 'g' }, { op: 'action' }],
    ['a huge name', { id: '77', name: 'x'.repeat(200_000), gender: 'g' }, { op: 'action' }],
    ['the compensation op on the action', { id: '78', name: 'n', gender: 'g' }, { op: 'compensate' }],
    ['an unknown op', { id: '79', name: 'n', gender: 'g' }, { op: 'launch' }],
    ['a gid longer than 128', { id: '80', name: 'n', gender: 'g' }, { op: 'action', gid: 'g'.repeat(129) }],
  ])('answers INVALID_ARGUMENT for %s', async (_name, request, branch) => {
    const { user } = rawClients(userAddress);
    const outcome = await rawCall(user.saveUser.bind(user), request, dtmMetadata({ gid: 'bad', ...branch }));
    expect(outcome).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
  });

  it('answers NOT_FOUND for getUser of an unknown id', async () => {
    const { user } = rawClients(userAddress);
    const outcome = await rawCall(user.getUser.bind(user), { id: '424242424242' }, dtmMetadata({}));
    expect(outcome).toMatchObject({ ok: false, code: grpc.status.NOT_FOUND });
  });
});

describe('score.UserScore over gRPC', () => {
  it('refuses score 10 with ABORTED and its compensation is a null compensation, never ABORTED', async () => {
    const { score } = rawClients(scoreAddress);
    const userId = String(nextId++);
    const refused = await rawCall(
      score.saveUserScore.bind(score),
      { userId, score: 10 },
      dtmMetadata({ gid: `s-${userId}`, op: 'action', branchId: '02' }),
    );
    const undo = await rawCall(
      score.saveUserScoreCallback.bind(score),
      { userId },
      dtmMetadata({ gid: `s-${userId}`, op: 'compensate', branchId: '02' }),
    );
    expect(refused).toMatchObject({ ok: false, code: grpc.status.ABORTED, errorCode: 'score_rejected' });
    expect((refused as { details: string }).details).toBe("user score can't equal 10");
    expect(undo).toMatchObject({ ok: true, response: { barrier: 'nullCompensation' } });
  });
});

describe('health and reflection', () => {
  it('answers the standard health check without a token', async () => {
    expect(await healthCheck(userAddress)).toBe('SERVING');
    expect(await healthCheck(userAddress, 'user.User')).toBe('SERVING');
  });

  it('answers NOT_SERVING while its database does not answer, and SERVING again once it does', async () => {
    let pool = openDatabase(database.url, { poolSize: 1 });
    const changes: boolean[] = [];
    const server = await startGrpcServer(
      { host: '127.0.0.1', port: 0 },
      {
        name: 'user.User',
        definition: loadProtos().user.User.service,
        implementation: userHandlers(createUserService(createUserStore(database.db), cache), {
          authorized: tokenChecker(SERVICE_TOKEN),
          logger: quiet,
        }),
      },
      grpc.ServerCredentials.createInsecure(),
      {
        intervalMs: 50,
        probe: () => pool.pool.query('SELECT 1').then(() => true),
        onChange: (serving) => changes.push(serving),
      },
    );
    servers.push(server);
    const waitFor = async (wanted: string) => {
      for (let i = 0; i < 100 && (await healthCheck(server.address, 'user.User')) !== wanted; i++)
        await sleep(20);
      return healthCheck(server.address, 'user.User');
    };
    expect(await waitFor('SERVING')).toBe('SERVING');
    await pool.close(); // the database is gone, as far as this server can tell
    expect(await waitFor('NOT_SERVING')).toBe('NOT_SERVING');
    expect(await healthCheck(server.address)).toBe('NOT_SERVING');
    pool = openDatabase(database.url, { poolSize: 1 });
    expect(await waitFor('SERVING')).toBe('SERVING');
    expect(changes).toEqual([false, true]);
    await pool.close();
  });

  it('lists the service through server reflection when asked to', async () => {
    const server = await startGrpcServer(
      { host: '127.0.0.1', port: 0 },
      {
        name: 'user.User',
        definition: loadProtos().user.User.service,
        implementation: userHandlers(createUserService(createUserStore(database.db), cache), {
          authorized: tokenChecker(SERVICE_TOKEN),
          logger: quiet,
        }),
      },
      grpc.ServerCredentials.createInsecure(),
      undefined,
      { reflection: true },
    );
    servers.push(server);
    const names = await reflectedServices(server.address);
    expect(names).toContain('user.User');
    expect(names).not.toContain('score.UserScore');
  });

  it('offers no reflection unless asked to', async () => {
    expect(await reflectedServices(userAddress)).toBe(grpc.status.UNIMPLEMENTED);
  });
});

describe('clients: the domain interfaces over gRPC', () => {
  const settings = () => ({
    token: SERVICE_TOKEN,
    deadlineMs: 3_000,
    credentials: grpc.credentials.createInsecure(),
  });
  const target = (address: string) => ({
    url: `grpc://${address}`,
    target: `ipv4:${address}`,
    authority: address,
    hosts: ['127.0.0.1'],
  });

  it('saves, reads and compensates through the user client as through the local service', async () => {
    const users = createUserClient(target(userAddress), settings());
    const id = nextId++;
    const branch = { transType: 'saga', gid: `c-${id}`, branchId: '01', op: 'action' as const };
    try {
      expect(await users.saveUser(branch, { id, name: 'Client', gender: 'x', passwordHash: null })).toEqual({
        outcome: 'done',
        value: { id, name: 'Client', gender: 'x' },
      });
      expect(await users.getUser(id)).toEqual({
        id,
        name: 'Client',
        gender: 'x',
        createdAt: expect.any(Date),
      });
      expect(await users.saveUserCallback({ ...branch, op: 'compensate' }, { id })).toEqual({
        outcome: 'done',
        value: null,
      });
      await expect(users.getUser(id)).rejects.toBeInstanceOf(NotFound);
      // A replay of the action that ran (and was compensated since) is a duplicate: nothing is re-inserted.
      expect(await users.saveUser(branch, { id, name: 'Again', gender: 'x' })).toMatchObject({
        outcome: 'duplicate',
      });
      await expect(users.getUser(id)).rejects.toBeInstanceOf(NotFound);
    } finally {
      users.close();
    }
  });

  it('restores business failures from the score service as the same typed error', async () => {
    const scores = createScoreClient(target(scoreAddress), settings());
    try {
      const branch = { transType: 'saga', gid: `sc-${nextId}`, branchId: '02', op: 'action' as const };
      const attempt = scores.saveUserScore(branch, { userId: nextId++, score: 10 });
      await expect(attempt).rejects.toBeInstanceOf(BusinessFailure);
      await expect(attempt).rejects.toMatchObject({
        code: 'score_rejected',
        message: "user score can't equal 10",
      });
    } finally {
      scores.close();
    }
  });

  it('cancels a branch call under way when its coordinator stops, rather than waiting for the deadline', async () => {
    let entered!: () => void;
    const called = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const local = createUserService(createUserStore(database.db), cache);
    const slow: UserService = {
      ...local,
      async saveUser(branch, user) {
        entered();
        await held;
        return local.saveUser(branch, user);
      },
    };
    const server = await startUserServer(undefined, false, slow);
    const codes: string[] = [];
    const users = createUserClient(target(server.address), {
      ...settings(),
      deadlineMs: 60_000,
      observe: (_method, code) => void codes.push(code),
    });
    const coordinator = new SagaCoordinator({
      log: createSagaLog(database.db),
      leaseMs: 5_000,
      recoveryIntervalMs: 60_000,
      timeoutMs: 120_000,
      policy: { baseMs: 10, factor: 2, maxMs: 50 },
      alertRetryLimit: 5,
    });
    coordinator.define(registerSaga, {
      users,
      scores: createScoreService(createScoreStore(database.db), { rejectedValues: [10] }, cache),
      secrets: createSecretBox('test-secret-test-secret-test-secret-42'),
    });
    await coordinator.start();
    try {
      const id = nextId++;
      const begun = await coordinator.begin('register', `cancel-${id}`, {
        user: { id, name: 'Slow', gender: 'x' },
        score: 1,
        sealedPasswordHash: null,
      });
      await called;
      await coordinator.stop(50);
      await vi.waitFor(() => expect(codes).toEqual(['CANCELLED']));
      expect(begun.created && (await begun.result).status).toBe('released');
    } finally {
      release();
      users.close();
    }
  });

  it('reports a dead address as a transient failure within the deadline', async () => {
    const users = createUserClient(target('127.0.0.1:1'), { ...settings(), deadlineMs: 500 });
    try {
      await expect(users.getUser(1)).rejects.toBeInstanceOf(TransientFailure);
    } finally {
      users.close();
    }
  });

  it('spreads calls over every replica listed in the address', async () => {
    const replicas = [await startUserServer(undefined, true), await startUserServer(undefined, true)];
    const perReplica: number[] = [];
    const users = createUserClient(
      {
        url: 'x',
        target: `ipv4:${replicas.map((replica) => replica.address).join(',')}`,
        authority: replicas[0]!.address,
        hosts: ['127.0.0.1'],
      },
      settings(),
    );
    try {
      for (const replica of replicas) {
        calls.user = 0;
        const single = createUserClient(target(replica.address), settings());
        await single.getUser(1).catch(() => undefined);
        single.close();
        perReplica.push(calls.user);
      }
      expect(perReplica).toEqual([1, 1]);
      calls.user = 0;
      await Promise.all(Array.from({ length: 20 }, () => users.getUser(1).catch(() => undefined)));
      expect(calls.user).toBe(20);
      // Round-robin: both replicas answered, so stopping one still leaves the other.
      await replicas[0]!.stop(100);
      await expect(users.getUser(1)).rejects.toBeInstanceOf(NotFound);
    } finally {
      users.close();
    }
  });
});

describe('mutual TLS', () => {
  let certificates: Certificates;
  let address: string;
  beforeAll(async () => {
    certificates = makeCertificates();
    const server = await startUserServer(
      serverCredentials({ cert: certificates.serverCert, key: certificates.serverKey, ca: certificates.ca }),
    );
    address = server.address;
  });
  afterAll(() => rmSync(certificates.dir, { recursive: true, force: true }));

  const tlsTarget = () => ({
    url: `grpc://${address}`,
    target: `ipv4:${address}`,
    authority: address,
    hosts: ['127.0.0.1'],
  });

  it('serves a client that presents a certificate signed by the CA', async () => {
    const users = createUserClient(tlsTarget(), {
      token: SERVICE_TOKEN,
      deadlineMs: 3_000,
      credentials: channelCredentials({
        ca: certificates.ca,
        cert: certificates.clientCert,
        key: certificates.clientKey,
      }),
    });
    try {
      await expect(users.getUser(1)).rejects.toBeInstanceOf(NotFound); // reached the service: it answered
    } finally {
      users.close();
    }
  });

  it('refuses a client without a certificate, and a plaintext one', async () => {
    for (const credentials of [
      channelCredentials({ ca: certificates.ca }),
      grpc.credentials.createInsecure(),
    ]) {
      const users = createUserClient(tlsTarget(), { token: SERVICE_TOKEN, deadlineMs: 1_000, credentials });
      try {
        await expect(users.getUser(1)).rejects.toBeInstanceOf(TransientFailure);
      } finally {
        users.close();
      }
    }
  });
});
