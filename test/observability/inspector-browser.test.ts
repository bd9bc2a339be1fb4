import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Browser, chromium, type Frame } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { STATELY_INSPECTOR_URL } from '../../src/observability/inspector-relay.js';
import { call, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../helpers/app.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

interface InspectionMessage {
  type: string;
  _version: string;
  name?: string;
  sessionId: string;
  rootId?: string;
  parentId?: string;
  definition?: string;
  event?: { type?: string };
  snapshot?: { status?: string; value?: unknown; children?: Record<string, unknown> };
}

/**
 * Stands in for the hosted inspector, as `@statelyai/inspect`'s browser receiver (0.7) behaves: it keeps
 * every message with a string `type` and `_version`, and announces `@statelyai.connected` to the window
 * that embeds it (at once, unless a test wants to say when).
 */
function standInPage(announce: boolean): string {
  return `<!doctype html>
<title>Stand-in for Stately's inspector</title>
<script>
  window.received = [];
  window.addEventListener('message', (event) => {
    const data = event.data;
    if (data && typeof data.type === 'string' && typeof data._version === 'string') window.received.push(data);
  });
  window.announce = () => window.parent.postMessage({ type: '@statelyai.connected' }, '*');
  ${announce ? 'window.announce();' : ''}
</script>
`;
}

let service: TestApp;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The inspector's browser test drives Chromium, not found at ${CHROMIUM}. Install the Debian package ` +
        '`chromium` (sudo apt-get install -y chromium), or set CHROMIUM_PATH.',
    );
  }
  // A failing step waits in backoff far longer than the test runs: a saga stays running until retried.
  service = await startTestApp({
    INSPECT: '1',
    INSPECT_PORT: '0',
    RETRY_BASE_MS: '60000',
    RETRY_MAX_MS: '60000',
    SAGA_TIMEOUT_MS: '600000',
    REGISTER_WAIT_MS: '300',
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Playwright gives each launch a fresh profile (--user-data-dir) of its own.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await service?.close();
});

let nextId = 9100;
/** Registers a user; the saga may still run when the answer comes (202), the tests wait on what they see. */
async function register(): Promise<string> {
  const id = nextId++;
  const response = await call(service.url, 'POST', '/register', {
    body: { id, name: `Watched ${id}`, gender: 'x', score: 3 },
  });
  expect([201, 202]).toContain(response.status);
  return response.body.gid;
}

/**
 * Opens the inspector's page with the stand-in served in place of the hosted inspector, at `hostedAt`.
 * When that is another address, stately.ai's page sends the frame there by script: request interception
 * does not see the request an HTTP redirect makes (Playwright's route docs), which would go out to the
 * network. Nothing leaves the machine: any other request is refused, and counted as a problem.
 */
async function openInspector(options: { announce?: boolean; hostedAt?: string } = {}) {
  const hostedAt = options.hostedAt ?? STATELY_INSPECTOR_URL;
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(error.message));
  const local = new URL(service.app.inspector!.url).origin;
  await page.route('**/*', async (route) => {
    const url = route.request().url();
    if (url.startsWith(`${local}/`)) return route.continue();
    if (url === STATELY_INSPECTOR_URL && hostedAt !== STATELY_INSPECTOR_URL)
      return route.fulfill({
        contentType: 'text/html',
        body: `<script>location.replace(${JSON.stringify(hostedAt)});</script>`,
      });
    if (url === hostedAt)
      return route.fulfill({ contentType: 'text/html', body: standInPage(options.announce ?? true) });
    problems.push(`external request: ${url}`);
    return route.abort();
  });
  await page.goto(service.app.inspector!.url);
  let standIn: Frame | undefined;
  await expect
    .poll(async () => {
      standIn = page.frames().find((frame) => frame.url() === hostedAt);
      return standIn !== undefined && (await standIn.evaluate('Array.isArray(window.received)'));
    })
    .toBe(true);
  const received = () => standIn!.evaluate('window.received') as Promise<InspectionMessage[]>;
  return { page, standIn: standIn!, received, problems };
}

/** Every message about the saga `register:<gid>`, its invoked actors' included, once `until` holds. */
async function sagaMessages(
  received: () => Promise<InspectionMessage[]>,
  gid: string,
  until: (messages: InspectionMessage[], root: InspectionMessage) => boolean,
): Promise<{ root: InspectionMessage; messages: InspectionMessage[] }> {
  let found: { root: InspectionMessage; messages: InspectionMessage[] } | undefined;
  await expect
    .poll(
      async () => {
        const all = await received();
        const root = all.find(
          (message) => message.type === '@xstate.actor' && message.name === `register:${gid}`,
        );
        const messages = root
          ? all.filter((message) => (message.rootId ?? message.sessionId) === root.sessionId)
          : [];
        if (root && until(messages, root)) found = { root, messages };
        return found !== undefined;
      },
      { timeout: 15_000 },
    )
    .toBe(true);
  return found!;
}

const rootSnapshots = (messages: InspectionMessage[], root: InspectionMessage) =>
  messages.filter((message) => message.type === '@xstate.snapshot' && message.sessionId === root.sessionId);
const ended = (messages: InspectionMessage[], root: InspectionMessage) =>
  rootSnapshots(messages, root).some((message) => message.snapshot?.status === 'done');

describe('the Stately inspector in a browser', () => {
  it('feeds the embedded inspector once it announces itself, not before: actors with definitions, events, snapshots', async () => {
    const { page, standIn, received, problems } = await openInspector({ announce: false });
    // An announcement from any window but the embedded inspector's is not a handshake.
    await page.evaluate("window.postMessage({ type: '@statelyai.connected' }, '*')");
    await register();
    await sleep(500);
    expect(await received()).toEqual([]);
    // Until then the page says what it waits for, and what that needs.
    expect(await page.locator('#status').textContent({ timeout: 1_000 })).toContain('needs internet access');

    await standIn.evaluate('window.announce()');
    await expect.poll(() => page.locator('#status').isHidden()).toBe(true);
    const gid = await register();
    const { root, messages } = await sagaMessages(received, gid, ended);

    expect(JSON.parse(root.definition ?? '{}')).toMatchObject({ id: 'register' });
    const steps = messages.filter((message) => message.type === '@xstate.actor' && message !== root);
    expect(steps.map((message) => message.name)).toEqual(
      expect.arrayContaining(['saveUser', 'saveUserScore']),
    );
    for (const step of steps) {
      expect(step.parentId).toBe(root.sessionId);
      expect(typeof step.definition).toBe('string');
    }
    const events = messages
      .filter((message) => message.type === '@xstate.event')
      .map((message) => message.event?.type);
    expect(events).toEqual(expect.arrayContaining(['xstate.init', 'xstate.done.actor.saveUser']));
    expect(rootSnapshots(messages, root).at(-1)?.snapshot).toMatchObject({
      status: 'done',
      value: 'scoreSaved',
    });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('gives a page opened later a saga waiting in backoff, however many sagas ended before, and follows it to its end', async () => {
    // The page of someone who watched from the start: it tells when the relay has passed everything on.
    const early = new WebSocket(service.app.inspector!.url.replace(/^http:/, 'ws:'));
    const seen: InspectionMessage[] = [];
    early.on('message', (data) => seen.push(JSON.parse(data.toString())));
    await new Promise((resolve) => early.once('open', resolve));

    await service.database.pool.query('RENAME TABLE user_score TO user_score_away');
    let gid: string;
    try {
      gid = await register();
      await expect
        .poll(async () => (await call(service.url, 'GET', `/sagas/${gid}`, { headers: admin })).body.state)
        .toBe('userSaved.waiting');
    } finally {
      await service.database.pool.query('RENAME TABLE user_score_away TO user_score');
    }
    // About 17 messages each: far more than a replay of the last 200 messages holds.
    for (let count = 0; count < 30; count++) await register();
    await expect
      .poll(
        () =>
          seen.filter(
            (message) =>
              message.type === '@xstate.snapshot' &&
              message.sessionId === message.rootId &&
              message.snapshot?.status === 'done',
          ).length,
        { timeout: 15_000 },
      )
      .toBe(30);

    const { page, received, problems } = await openInspector();
    const { root, messages } = await sagaMessages(
      received,
      gid,
      (mine, root) => rootSnapshots(mine, root).length > 0,
    );
    expect(JSON.parse(root.definition ?? '{}')).toMatchObject({ id: 'register' });
    const latest = rootSnapshots(messages, root).at(-1)!.snapshot!;
    expect(latest).toMatchObject({ status: 'active', value: { userSaved: 'waiting' } });
    // The actors it has invoked (the timer it waits on) are registered too, and nothing else is: no saga
    // that ended, no message about an actor the page was not told of.
    const children = Object.keys(latest.children ?? {});
    expect(children.length).toBeGreaterThan(0);
    const all = await received();
    const registrations = all.filter((message) => message.type === '@xstate.actor');
    expect(registrations.map((message) => message.name).sort()).toEqual(
      [`register:${gid}`, ...children].sort(),
    );
    for (const registration of registrations)
      expect(registration.rootId ?? root.sessionId).toBe(root.sessionId);
    const known = new Set(registrations.map((message) => message.sessionId));
    for (const message of all) expect(known.has(message.sessionId), message.type).toBe(true);

    const retried = await call(service.url, 'POST', `/sagas/${gid}/retry`, { headers: admin });
    expect(retried.status).toBeLessThan(300);
    const end = await sagaMessages(received, gid, ended);
    expect(rootSnapshots(end.messages, root).at(-1)?.snapshot).toMatchObject({ value: 'scoreSaved' });
    expect(problems).toEqual([]);
    early.close();
    await page.close();
  });

  it('feeds the hosted inspector at the origin it ends up on when stately.ai sends it to another host', async () => {
    const { page, standIn, received, problems } = await openInspector({
      hostedAt: 'https://www.stately.ai/inspect',
    });
    expect(standIn.url()).toBe('https://www.stately.ai/inspect');
    await expect.poll(() => page.locator('#status').isHidden()).toBe(true);
    const gid = await register();
    const { root, messages } = await sagaMessages(received, gid, ended);
    expect(rootSnapshots(messages, root).at(-1)?.snapshot).toMatchObject({
      status: 'done',
      value: 'scoreSaved',
    });
    expect(problems).toEqual([]);
    await page.close();
  });
});
