import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProtos } from '../../src/transports/grpc/protos.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { dtmMetadata, healthCheck, rawCall, rawClients, SERVICE_TOKEN } from '../helpers/grpc.js';
import { freePort, type ServiceProcess, startServiceProcess } from '../helpers/service-process.js';

// The user and score roles as a real process, sent what no well-behaved client sends. Whatever arrives,
// the answer is a status (never INTERNAL or UNKNOWN for a bad request), and the process keeps serving.
let database: TestDatabase;
let service: ServiceProcess;
let userAddress: string;
let scoreAddress: string;
let raw: grpc.Client;
let rawScore: grpc.Client;
const MAX_MESSAGE = 1024 * 1024;

beforeAll(async () => {
  database = await createTestDatabase(['user', 'score', 'barrier']);
  const [userPort, scorePort] = [await freePort(), await freePort()];
  userAddress = `127.0.0.1:${userPort}`;
  scoreAddress = `127.0.0.1:${scorePort}`;
  service = await startServiceProcess(
    {
      ROLES: 'user,score',
      USER_GRPC_ADDR: userAddress,
      SCORE_GRPC_ADDR: scoreAddress,
      DATABASE_URL: database.url,
    },
    { readyGrpc: userAddress },
  );
  raw = new grpc.Client(userAddress, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': 4 * MAX_MESSAGE,
  });
  rawScore = new grpc.Client(scoreAddress, grpc.credentials.createInsecure());
});
afterAll(async () => {
  raw?.close();
  rawScore?.close();
  await service?.kill();
  await database?.drop();
});

/** One call whose request bytes are exactly `bytes`: no protobuf encoding on our side. */
function sendBytes(client: grpc.Client, path: string, bytes: Buffer, metadata: grpc.Metadata) {
  return new Promise<{ code: grpc.status; details: string }>((resolve) => {
    client.makeUnaryRequest(
      path,
      (value: Buffer) => value,
      (value: Buffer) => value,
      bytes,
      metadata,
      { deadline: Date.now() + 10_000 },
      (error) =>
        resolve(error ? { code: error.code, details: error.details } : { code: grpc.status.OK, details: '' }),
    );
  });
}

const userMethods = ['saveUser', 'saveUserCallback', 'getUser', 'verifyPassword'].map(
  (name) => `/user.User/${name}`,
);
const scoreMethods = ['saveUserScore', 'saveUserScoreCallback', 'getUserScore'].map(
  (name) => `/score.UserScore/${name}`,
);
const metadataFor = (path: string) =>
  dtmMetadata({ gid: `fuzz-${Math.random()}`, op: path.includes('Callback') ? 'compensate' : 'action' });

/** Statuses a bad request may get: never INTERNAL or UNKNOWN, which mean "a bug, retry". */
const CLIENT_STATUSES = [
  grpc.status.OK,
  grpc.status.INVALID_ARGUMENT,
  grpc.status.NOT_FOUND,
  grpc.status.ABORTED,
  grpc.status.RESOURCE_EXHAUSTED,
];

describe('gRPC: hostile requests', () => {
  it('answers malformed message bytes with INVALID_ARGUMENT, on every method', async () => {
    // Not protobuf at all: a length-delimited field running past the end, a bad wire type, a string
    // field sent as a varint, invalid UTF-8 in a string field.
    const malformed = [
      Buffer.from([0x0a, 0xff, 0x01, 0x41]),
      Buffer.from([0x0f]),
      Buffer.from([0x08]),
      Buffer.from([0x0a, 0x02, 0xff, 0xfe]),
      Buffer.from('{"id":"1"}'),
    ];
    for (const [client, methods] of [
      [raw, userMethods],
      [rawScore, scoreMethods],
    ] as const) {
      for (const path of methods) {
        for (const bytes of malformed) {
          const answer = await sendBytes(client, path, bytes, metadataFor(path));
          expect({ path, bytes: bytes.toString('hex'), code: grpc.status[answer.code] }).toMatchObject({
            code: expect.stringMatching(/^(INVALID_ARGUMENT|NOT_FOUND|OK)$/),
          });
        }
      }
    }
    const first = await sendBytes(
      raw,
      '/user.User/saveUser',
      Buffer.from([0x0a, 0xff, 0x01, 0x41]),
      metadataFor('x'),
    );
    expect(first.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('never answers random bytes with INTERNAL or UNKNOWN', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 64 }),
        fc.constantFrom(...userMethods, ...scoreMethods),
        async (bytes, path) => {
          const client = path.startsWith('/user.') ? raw : rawScore;
          const answer = await sendBytes(client, path, Buffer.from(bytes), metadataFor(path));
          expect(
            CLIENT_STATUSES,
            `${path} ${Buffer.from(bytes).toString('hex')}: ${answer.details}`,
          ).toContain(answer.code);
        },
      ),
      { numRuns: 150 },
    );
  }, 60_000);

  it('answers wrong, missing and duplicated metadata with INVALID_ARGUMENT or UNAUTHENTICATED', async () => {
    const { user } = rawClients(userAddress);
    const request = { id: '70001', name: 'Meta', gender: 'x' };
    const saveUser = (metadata: grpc.Metadata) => rawCall(user.saveUser.bind(user), request, metadata);
    const cases: Array<[string, () => grpc.Metadata, grpc.status]> = [
      ['no barrier metadata', () => dtmMetadata({}), grpc.status.INVALID_ARGUMENT],
      ['an unknown op', () => dtmMetadata({ gid: 'g-op', op: 'delete' }), grpc.status.INVALID_ARGUMENT],
      [
        'a compensating op on a forward method',
        () => dtmMetadata({ gid: 'g-comp', op: 'compensate' }),
        grpc.status.INVALID_ARGUMENT,
      ],
      ['an empty gid', () => dtmMetadata({ gid: '', op: 'action' }), grpc.status.INVALID_ARGUMENT],
      [
        'a gid over 128 characters',
        () => dtmMetadata({ gid: 'g'.repeat(129), op: 'action' }),
        grpc.status.INVALID_ARGUMENT,
      ],
      [
        'two different gids',
        () => {
          const metadata = dtmMetadata({ gid: 'g-one', op: 'action' });
          metadata.add('dtm-gid', 'g-two');
          return metadata;
        },
        grpc.status.INVALID_ARGUMENT,
      ],
      [
        'two ops',
        () => {
          const metadata = dtmMetadata({ gid: 'g-two-ops', op: 'action' });
          metadata.add('dtm-op', 'compensate');
          return metadata;
        },
        grpc.status.INVALID_ARGUMENT,
      ],
      ['no token', () => dtmMetadata({ gid: 'g-nt', op: 'action' }, null), grpc.status.UNAUTHENTICATED],
      [
        'a wrong token',
        () => dtmMetadata({ gid: 'g-wt', op: 'action' }, 'wrong-token-wrong-token'),
        grpc.status.UNAUTHENTICATED,
      ],
      [
        // node's HTTP/2 client will not send two authorization headers; this is what joined ones look like.
        'the right token joined with a wrong one',
        () => dtmMetadata({ gid: 'g-2t', op: 'action' }, `${SERVICE_TOKEN}, Bearer wrong-token-wrong-token`),
        grpc.status.UNAUTHENTICATED,
      ],
    ];
    for (const [name, metadata, code] of cases) {
      const answer = await saveUser(metadata());
      expect({ name, code: answer.ok ? 'OK' : grpc.status[answer.code] }).toEqual({
        name,
        code: grpc.status[code],
      });
    }
    // Metadata over the HTTP/2 header-list limit is reset by node's HTTP/2 layer before gRPC sees the call
    // (the caller reads INTERNAL, "RST_STREAM"): refused all the same, and the server goes on serving.
    const huge = await saveUser(dtmMetadata({ gid: 'g'.repeat(100_000), op: 'action' }));
    expect(huge.ok).toBe(false);
    user.close();
  });

  it('answers strings over the message limit with RESOURCE_EXHAUSTED and just under it with INVALID_ARGUMENT', async () => {
    const { user, score } = rawClients(userAddress);
    const big = rawClients(userAddress, grpc.credentials.createInsecure());
    const over = 'x'.repeat(MAX_MESSAGE + 10);
    const under = 'x'.repeat(MAX_MESSAGE - 100);
    const client = new (loadProtos().user.User)(userAddress, grpc.credentials.createInsecure(), {
      'grpc.max_send_message_length': 4 * MAX_MESSAGE,
    }) as unknown as typeof user;
    const call = (name: string, password?: string) =>
      rawCall(
        client.saveUser.bind(client),
        { id: '70002', name, gender: 'x', ...(password ? { passwordHash: password } : {}) },
        dtmMetadata({ gid: `g-big-${name.length}`, op: 'action' }),
      );
    const tooBig = await call(over);
    expect(tooBig.ok ? 'OK' : grpc.status[tooBig.code]).toBe('RESOURCE_EXHAUSTED');
    const justUnder = await call(under);
    expect(justUnder.ok ? 'OK' : grpc.status[justUnder.code]).toBe('INVALID_ARGUMENT');
    const hugeHash = await call('Ok', under);
    expect(hugeHash.ok ? 'OK' : grpc.status[hugeHash.code]).toBe('INVALID_ARGUMENT');
    const password = await rawCall(
      client.verifyPassword.bind(client),
      { id: '70002', password: under },
      dtmMetadata({}),
    );
    expect(password.ok ? 'OK' : grpc.status[password.code]).toBe('INVALID_ARGUMENT');
    for (const closable of [user, score, big.user, big.score, client]) closable.close();
  });

  it('answers wrong field values with INVALID_ARGUMENT', async () => {
    const { user, score } = rawClients(scoreAddress);
    const scoreCall = (request: object) =>
      rawCall(
        score.saveUserScore.bind(score),
        request,
        dtmMetadata({ gid: `g-wv-${Math.random()}`, op: 'action' }),
      );
    for (const request of [
      { userId: '0', score: 1 },
      { userId: '-1', score: 1 },
      { userId: String(2 ** 53), score: 1 },
      {},
    ]) {
      const answer = await scoreCall(request);
      expect({ request, code: answer.ok ? 'OK' : grpc.status[answer.code] }).toEqual({
        request,
        code: 'INVALID_ARGUMENT',
      });
    }
    user.close();
    score.close();
  });

  it('is still serving, and the process still running, afterwards', async () => {
    expect(await healthCheck(userAddress)).toBe('SERVING');
    expect(await healthCheck(scoreAddress)).toBe('SERVING');
    const { user } = rawClients(userAddress);
    const answer = await rawCall(
      user.saveUser.bind(user),
      { id: '70009', name: 'Still here', gender: 'x' },
      dtmMetadata({ gid: 'g-after', op: 'action' }),
    );
    expect(answer.ok).toBe(true);
    user.close();
    expect(service.child.exitCode).toBeNull();
    expect(service.output()).not.toMatch(/"level":(50|60)/);
  });
});
