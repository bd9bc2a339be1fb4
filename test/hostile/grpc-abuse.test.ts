import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestApp, type TestApp } from '../helpers/app.js';
import { rawCall, rawClients, reflectedServices, SERVICE_TOKEN } from '../helpers/grpc.js';

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

describe('server reflection in production', () => {
  const production = {
    NODE_ENV: 'production',
    JWT_SECRET: 'Zp4vQ9mX2rT7wK1yB6nH3sL8dF5gJ0cA',
  };
  let apps: TestApp[] = [];
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    apps = [];
  });

  it('is off: it answers without a token, describing every method to whoever asks', async () => {
    const app = await startTestApp(production);
    apps.push(app);
    expect(await reflectedServices(app.app.grpc.user?.address as string)).toBe(grpc.status.UNIMPLEMENTED);
    expect(await reflectedServices(app.app.grpc.score?.address as string)).toBe(grpc.status.UNIMPLEMENTED);
  });

  it('is on when GRPC_REFLECTION=true asks for it', async () => {
    const app = await startTestApp({ ...production, GRPC_REFLECTION: 'true' });
    apps.push(app);
    expect(await reflectedServices(app.app.grpc.user?.address as string)).toContain('user.User');
  });
});
