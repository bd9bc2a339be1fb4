import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestApp, type TestApp } from '../helpers/app.js';
import { rawCall, rawClients, SERVICE_TOKEN } from '../helpers/grpc.js';

// The gRPC side of issue #14: what whoever holds the service token can do with the user service.

let service: TestApp;
let userAddress: string;

beforeAll(async () => {
  service = await startTestApp({ LOGIN_ID_RATE_MAX: '3', LOGIN_RATE_WINDOW: '1m' });
  userAddress = service.app.grpc.user?.address as string;
});
afterAll(async () => {
  await service?.close();
});

function withToken(): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${SERVICE_TOKEN}`);
  return metadata;
}

describe('user.User/verifyPassword', () => {
  it('answers RESOURCE_EXHAUSTED (rate_limited) with retry-after past LOGIN_ID_RATE_MAX checks of one id', async () => {
    const id = 81_000;
    expect(
      (
        await call(service.url, 'POST', '/register', {
          body: { id, name: 'Oracle', gender: 'x', password: 'the real password' },
        })
      ).status,
    ).toBe(201);
    const { user } = rawClients(userAddress);
    const verify = (password: string) =>
      rawCall(user.verifyPassword.bind(user), { id: String(id), password }, withToken());
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await verify(`guess number ${i}`));
    expect(answers).toEqual(Array(3).fill({ ok: true, response: { ok: false } }));

    const refused = await new Promise<grpc.ServiceError>((resolve) =>
      user.verifyPassword({ id: String(id), password: 'the real password' }, withToken(), (error) =>
        resolve(error as grpc.ServiceError),
      ),
    );
    expect(refused.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.metadata.get('x-error-code')).toEqual(['rate_limited']);
    expect(Number(refused.metadata.get('retry-after')[0])).toBeGreaterThan(0);
    // Another id has its own budget.
    expect(
      await rawCall(user.verifyPassword.bind(user), { id: String(id + 1), password: 'x' }, withToken()),
    ).toEqual({
      ok: true,
      response: { ok: false },
    });
    user.close();
  });
});
