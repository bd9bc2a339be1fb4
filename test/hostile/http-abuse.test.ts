import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestApp, type TestApp } from '../helpers/app.js';

// Abuse of the public API (issue #14): floods of registrations, forged client addresses, lockouts of
// another user, and connections held open by slow clients. Each test runs the whole service on loopback;
// several clients are several local addresses (127.0.0.2, …), which Linux routes to 127.0.0.1.

let nextId = 70_000;
const user = (fields: Record<string, unknown> = {}) => ({
  id: nextId++,
  name: 'Abuse Test',
  gender: 'x',
  ...fields,
});

describe('POST /register per client', () => {
  let service: TestApp;
  beforeAll(async () => {
    service = await startTestApp({ REGISTER_RATE_MAX: '3', REGISTER_RATE_WINDOW: '1m' });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('answers 429 with Retry-After past REGISTER_RATE_MAX, and writes nothing', async () => {
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 5; i++) {
      const response = await call(service.url, 'POST', '/register', { body: user(), from: '127.0.0.3' });
      statuses.push(response.status);
      if (response.status === 429) refused = response;
    }
    expect(statuses).toEqual([201, 201, 201, 429, 429]);
    expect(refused?.body.error.code).toBe('rate_limited');
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('counts each client on its own', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await call(service.url, 'POST', '/register', { body: user(), from: '127.0.0.4' })).status).toBe(
        201,
      );
    }
    expect((await call(service.url, 'POST', '/register', { body: user(), from: '127.0.0.5' })).status).toBe(
      201,
    );
  });
});

describe('POST /register above MAX_SAGAS_IN_FLIGHT', () => {
  let service: TestApp;
  beforeAll(async () => {
    // Slow sagas (the score branch waits), answered 202 at once: they stay in flight after the answer.
    service = await startTestApp({
      MAX_SAGAS_IN_FLIGHT: '2',
      REGISTER_WAIT_MS: '50',
      FAULTS: 'score.saveUserScore=delay:1500ms',
    });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('answers 503 overloaded with Retry-After while the process runs that many, and takes new ones after', async () => {
    const first = await call(service.url, 'POST', '/register', { body: user() });
    const second = await call(service.url, 'POST', '/register', { body: user() });
    expect([first.status, second.status]).toEqual([202, 202]);

    const refused = await call(service.url, 'POST', '/register', { body: user() });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('overloaded');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);

    let later = refused;
    for (let i = 0; i < 60 && later.status === 503; i++) {
      await sleep(100);
      later = await call(service.url, 'POST', '/register', { body: user() });
    }
    expect([201, 202]).toContain(later.status);
  });
});

describe('TRUST_PROXY', () => {
  let service: TestApp;
  beforeAll(async () => {
    // The test client plays the proxy (127.0.0.1); the X-Forwarded-For entries are its clients.
    service = await startTestApp({
      TRUST_PROXY: '127.0.0.1',
      LOGIN_IP_RATE_MAX: '3',
      LOGIN_RATE_MAX: '1000',
      LOGIN_ID_RATE_MAX: '1000',
    });
  });
  afterAll(async () => {
    await service?.close();
  });

  const login = (forwardedFor: string) =>
    call(service.url, 'POST', '/login', {
      body: { id: nextId++, password: 'guessing password' },
      headers: { 'x-forwarded-for': forwardedFor },
    });

  it('takes the address the trusted proxy saw, not the left-most entry the client wrote', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await login(`10.9.9.${i}, 198.51.100.7`)).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    // Another client behind the same proxy has its own budget.
    expect((await login('198.51.100.8')).status).toBe(401);
  });

  it('counts the addresses of one IPv6 /64 as one client', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= 5; i++) statuses.push((await login(`2001:db8:7:7::${i.toString(16)}`)).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    expect((await login('2001:db8:7:8::1')).status).toBe(401);
  });
});

describe('login limits per id', () => {
  let service: TestApp;
  beforeAll(async () => {
    service = await startTestApp({ LOGIN_RATE_MAX: '3', LOGIN_ID_RATE_MAX: '8', LOGIN_IP_RATE_MAX: '1000' });
  });
  afterAll(async () => {
    await service?.close();
  });

  async function registered(password: string): Promise<number> {
    const body = user({ password });
    expect((await call(service.url, 'POST', '/register', { body })).status).toBe(201);
    return body.id as number;
  }

  it('lets the owner in from another address after a stranger used up their own attempts', async () => {
    const id = await registered('the owner password');
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await call(service.url, 'POST', '/login', {
        body: { id, password: 'a stranger guessing' },
        from: '127.0.0.6',
      });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    const owner = await call(service.url, 'POST', '/login', {
      body: { id, password: 'the owner password' },
      from: '127.0.0.7',
    });
    expect(owner.status).toBe(200);
  });

  it('answers 429 with Retry-After once an id was tried LOGIN_ID_RATE_MAX times from anywhere', async () => {
    const id = await registered('another owner password');
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof call>> | undefined;
    for (let client = 10; client < 14; client++) {
      for (let i = 0; i < 3; i++) {
        const response = await call(service.url, 'POST', '/login', {
          body: { id, password: 'many strangers guessing' },
          from: `127.0.0.${client}`,
        });
        statuses.push(response.status);
        if (response.status === 429) refused = response;
      }
    }
    expect(statuses.filter((status) => status === 401)).toHaveLength(8);
    expect(statuses.slice(8)).toEqual([429, 429, 429, 429]);
    expect(refused?.body.error.code).toBe('rate_limited');
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('slow clients', () => {
  let service: TestApp;
  let port: number;
  beforeAll(async () => {
    service = await startTestApp({
      HTTP_REQUEST_TIMEOUT: '1s',
      HTTP_CONNECTION_TIMEOUT: '1500ms',
      REGISTER_WAIT_MS: '500',
    });
    port = Number(new URL(service.url).port);
  });
  afterAll(async () => {
    await service?.close();
  });

  function open(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(socket));
      socket.once('error', reject);
    });
  }

  it('ends a request whose body trickles in past HTTP_REQUEST_TIMEOUT', async () => {
    const socket = await open();
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk;
    });
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(
      'POST /register HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{',
    );
    // A byte every 200 ms: the connection is never idle, only slow.
    const started = Date.now();
    const trickle = setInterval(() => socket.writable && socket.write(' '), 200);
    const outcome = await Promise.race([closed.then(() => 'closed'), sleep(6_000).then(() => 'open')]);
    clearInterval(trickle);
    socket.destroy();
    expect(outcome).toBe('closed');
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('drops a connection that stops reading its answers past HTTP_CONNECTION_TIMEOUT', async () => {
    // Pipelined requests for a large file, none read: the server's writes stall once the socket
    // buffers are full, and the connection goes silent.
    const path = '/docs/static/swagger-ui-bundle.js';
    const size = Number((await fetch(`${service.url}${path}`)).headers.get('content-length'));
    expect(size).toBeGreaterThan(500_000);
    const requests = 40;
    const socket = await open();
    socket.on('error', () => {});
    socket.pause();
    socket.write(`GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`.repeat(requests));
    await sleep(4_000);
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.resume();
    const outcome = await Promise.race([closed.then(() => 'closed'), sleep(5_000).then(() => 'open')]);
    socket.destroy();
    expect(outcome).toBe('closed');
    expect(received).toBeLessThan(requests * size);
  });
});
