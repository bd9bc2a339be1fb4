import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { App } from '../../src/app.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { REDACTED } from '../../src/observability/redact-secrets.js';
import { call, startTestApp, TEST_ADMIN_TOKEN, TEST_JWT_SECRET, type TestApp } from '../helpers/app.js';
import { startAppOn } from '../helpers/app-on.js';
import { createTestDatabase, queryOnce, type TestDatabase } from '../helpers/database.js';

interface InspectionMessage {
  type: string;
  name?: string;
  sessionId: string;
  snapshot?: { status?: string; value?: unknown };
  event?: { type?: string };
}

/** A viewer of the inspector's relay, as the browser page is (its URL, as ws://): it keeps every message it gets. */
async function watch(pageUrl: string) {
  const socket = new WebSocket(pageUrl.replace(/^http:/, 'ws:'));
  const raw: string[] = [];
  socket.on('message', (data) => raw.push(data.toString()));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const messages = () => raw.map((text) => JSON.parse(text) as InspectionMessage);
  return {
    raw,
    messages,
    /** Every message about the actor `register:<gid>` (the actor message names it; later ones carry its session id). */
    async sagaMessages(gid: string, until: (messages: InspectionMessage[]) => boolean) {
      for (let waited = 0; waited < 15_000; waited += 50) {
        const all = messages();
        const actor = all.find(
          (message) => message.type === '@xstate.actor' && message.name === `register:${gid}`,
        );
        const mine = actor ? all.filter((message) => message.sessionId === actor.sessionId) : [];
        if (until(mine)) return mine;
        await sleep(50);
      }
      throw new Error(`no complete inspection of register:${gid}; got ${raw.length} messages`);
    },
    close: () => socket.close(),
  };
}

const finalSnapshot = (messages: InspectionMessage[]) =>
  messages.find((message) => message.type === '@xstate.snapshot' && message.snapshot?.status === 'done');

/** Every secret the registration touched: the password, the scrypt hash stored, the sealed hash in the log. */
async function secretsOf(database: TestDatabase, gid: string, id: number): Promise<string[]> {
  const [user] = await queryOnce(database.url, 'SELECT password_hash FROM user WHERE id = ?', [id]);
  const [saga] = await queryOnce(database.url, 'SELECT input FROM saga WHERE gid = ?', [gid]);
  const input = typeof saga?.input === 'string' ? JSON.parse(saga.input) : saga?.input;
  const secrets = [String(user?.password_hash), String(input?.sealedPasswordHash)];
  for (const secret of secrets) expect(secret.length).toBeGreaterThan(20);
  return secrets;
}

describe('the Stately inspector', () => {
  let service: TestApp;
  beforeAll(async () => {
    service = await startTestApp({ INSPECT: '1', INSPECT_PORT: '0' });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('shows one registration as actor, event and snapshot messages of register:<gid>, ending in scoreSaved', async () => {
    const viewer = await watch(service.app.inspector!.url);
    const password = 'inspector-password-42';
    const registered = await call(service.url, 'POST', '/register', {
      body: { id: 201, name: 'Ines', gender: 'female', password, score: 7 },
    });
    expect(registered.status).toBe(201);
    const gid = registered.body.gid as string;

    const messages = await viewer.sagaMessages(gid, (mine) => finalSnapshot(mine) !== undefined);
    expect(messages.map((message) => message.type)).toEqual(
      expect.arrayContaining(['@xstate.actor', '@xstate.event', '@xstate.snapshot']),
    );
    expect(
      messages.some((message) => message.type === '@xstate.event' && message.event?.type === 'xstate.init'),
    ).toBe(true);
    expect(finalSnapshot(messages)?.snapshot?.value).toBe('scoreSaved');

    // Nothing secret in any message, the step actors' inputs included; the sealed hash's key is still there.
    const secrets = [password, ...(await secretsOf(service.database, gid, 201))];
    for (const text of viewer.raw) for (const secret of secrets) expect(text).not.toContain(secret);
    expect(viewer.raw.some((text) => text.includes(`"sealedPasswordHash":"${REDACTED}"`))).toBe(true);
    viewer.close();
  });

  it('replays recent messages to a page opened later', async () => {
    const viewer = await watch(service.app.inspector!.url);
    await sleep(200);
    expect(viewer.messages().some((message) => message.type === '@xstate.actor')).toBe(true);
    viewer.close();
  });

  it('serves the page that embeds the Stately inspector, on 127.0.0.1 only', async () => {
    const { url, port } = service.app.inspector!;
    expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/[\\w-]{24}$`));
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('https://stately.ai/inspect');
  });

  it('refuses the page and the stream to whoever does not have the viewer key in the URL', async () => {
    const { port } = service.app.inspector!;
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
    // A local process: no Origin to turn it away by.
    const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
    const status = await new Promise<number | undefined>((resolve) => {
      socket.once('unexpected-response', (_request, response) => resolve(response.statusCode));
      socket.once('open', () => resolve(undefined));
    });
    expect(status).toBe(401);
  });

  it('refuses viewers from another web origin', async () => {
    const socket = new WebSocket(service.app.inspector!.url.replace(/^http:/, 'ws:'), {
      origin: 'https://elsewhere.example',
    });
    const status = await new Promise<number | undefined>((resolve) => {
      socket.once('unexpected-response', (_request, response) => resolve(response.statusCode));
      socket.once('open', () => resolve(undefined));
    });
    expect(status).toBe(401);
  });
});

describe('the inspector and the app lifecycle', () => {
  let database: TestDatabase;
  const apps: App[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => {});
    await database?.drop();
  });

  async function start(env: Record<string, string>) {
    const started = await startAppOn(database, { RECOVERY_INTERVAL_MS: '100', ...env });
    apps.push(started.app);
    return started;
  }

  it('inspects a resumed saga like a new one', async () => {
    // The first process cannot reach the user service: its saga waits in backoff, and a graceful stop
    // hands it over (lease released).
    const first = await start({
      ROLES: 'api',
      USER_SERVICE: 'grpc://127.0.0.1:1',
      GRPC_DEADLINE_MS: '200',
      REGISTER_WAIT_MS: '0',
    });
    const pending = await call(first.url, 'POST', '/register', {
      body: { id: 301, name: 'Remy', gender: 'male', password: 'resumed-password-1', score: 3 },
    });
    expect(pending.status).toBe(202);
    const gid = pending.body.gid as string;
    await sleep(300);
    await first.app.close();

    const second = await start({ INSPECT: '1', INSPECT_PORT: '0' });
    const viewer = await watch(second.app.inspector!.url);
    const messages = await viewer.sagaMessages(gid, (mine) => finalSnapshot(mine) !== undefined);
    expect(finalSnapshot(messages)?.snapshot?.value).toBe('scoreSaved');
    const secrets = ['resumed-password-1', ...(await secretsOf(database, gid, 301))];
    for (const text of viewer.raw) for (const secret of secrets) expect(text).not.toContain(secret);
    viewer.close();
    await second.app.close();
  });

  it('frees its port when the app closes', async () => {
    const { app } = await start({ INSPECT: '1', INSPECT_PORT: '0' });
    const port = app.inspector!.port;
    await app.close();
    await new Promise<void>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', reject);
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
    });
  });

  it('is off unless asked for', async () => {
    const { app } = await start({});
    expect(app.inspector).toBeUndefined();
    await app.close();
  });

  it('is refused in production', () => {
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        JWT_SECRET: TEST_JWT_SECRET,
        ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        INSPECT: '1',
      }),
    ).toThrow(ConfigError);
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        JWT_SECRET: TEST_JWT_SECRET,
        ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        INSPECT: '1',
      }),
    ).toThrow(/INSPECT/);
  });
});
