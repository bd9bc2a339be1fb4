import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../../helpers/app.js';
import { queryOnce } from '../../helpers/database.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = new URL('../../artifacts/', import.meta.url);
const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
const XSS_NAME = '<script>window.__xss=1</script><img src=x onerror=__xss=2>';

let service: TestApp;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The dashboard test drives Chromium, not found at ${CHROMIUM}. Install the Debian packages ` +
        '`chromium` and `chromium-driver` (sudo apt-get install -y chromium chromium-driver), or set CHROMIUM_PATH.',
    );
  }
  // A failing step waits in backoff far longer than the test runs: only the Retry button can wake it.
  service = await startTestApp({
    RETRY_BASE_MS: '60000',
    RETRY_MAX_MS: '60000',
    SAGA_TIMEOUT_MS: '600000',
    REGISTER_WAIT_MS: '300',
    TRACE_URL_TEMPLATE: 'https://traces.example/trace/{traceId}',
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await service?.close();
});

async function register(id: number, name: string, score: number): Promise<string> {
  const response = await call(service.url, 'POST', '/register', { body: { id, name, gender: 'x', score } });
  expect(response.status).toBe(score === 10 ? 422 : 201);
  return response.body.gid;
}

async function openDashboard(): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(error.message));
  // Nothing may come from anywhere but the service.
  page.on('request', (request) => {
    if (!request.url().startsWith(service.url)) problems.push(`external request: ${request.url()}`);
  });
  await page.goto(`${service.url}/dashboard`);
  return { page, problems };
}

describe('dashboard', () => {
  it('shows the counts, lists sagas and an aborted saga with its compensations, escaping what it shows', async () => {
    await register(7001, 'Ada', 5);
    await register(7002, 'Bob', 7);
    await register(7003, 'Cy', 10);
    await register(7004, 'Di', 10);
    const hostile = await register(7005, XSS_NAME, 10);

    const { page, problems } = await openDashboard();
    await page.fill('#token', TEST_ADMIN_TOKEN);
    await page.click('button[type=submit]');

    const count = (status: string) => page.locator(`#counts [data-status=${status}] .value`);
    await expect.poll(() => count('aborted').textContent()).toBe('3');
    expect(await count('succeeded').textContent()).toBe('2');
    // Finished sagas reach the per-minute counts within two seconds; the page refreshes every three.
    await expect
      .poll(() => page.locator('#abort-rate').textContent(), { timeout: 10_000 })
      .toBe('abort rate 60.0 %');
    await page.screenshot({ path: new URL('dashboard-overview.png', ARTIFACTS).pathname, fullPage: true });

    // The overview refreshes by itself: a saga finishing now shows up without a reload.
    await register(7006, 'Eve', 1);
    await expect.poll(() => count('succeeded').textContent(), { timeout: 10_000 }).toBe('3');
    await expect
      .poll(() => page.locator('#abort-rate').textContent(), { timeout: 10_000 })
      .toBe('abort rate 50.0 %');

    // The list, filtered, then a search by user id.
    await page.click('#counts [data-status=aborted]');
    await page.waitForSelector('#saga-list');
    expect(await page.locator('#saga-list tbody tr').count()).toBe(3);
    await page.screenshot({ path: new URL('dashboard-list.png', ARTIFACTS).pathname, fullPage: true });
    await page.fill('input[name=q]', '7005');
    await page.click('form.filters button[type=submit]');
    await expect.poll(() => page.locator('#saga-list tbody tr').count()).toBe(1);
    expect(await page.locator('#saga-list tbody tr').getAttribute('data-gid')).toBe(hostile);

    await page.click(`#saga-list a[href="#/saga/${hostile}"]`);
    await page.waitForSelector('#timeline');
    const rows = await page
      .locator('#timeline tbody tr')
      .evaluateAll((trs) => trs.map((tr) => `${tr.getAttribute('data-step')}/${tr.getAttribute('data-op')}`));
    expect(rows).toEqual([
      'saveUser/action',
      'saveUserScore/action',
      'saveUserScoreCallback/compensate',
      'saveUserCallback/compensate',
    ]);
    expect(await page.locator('#timeline').textContent()).toContain('score_rejected');
    expect(await page.locator('#state').textContent()).toBe('aborted');

    // The diagram: the path taken and the state the saga is in.
    expect(await page.locator('#diagram [data-node=aborted]').getAttribute('class')).toContain('current');
    expect(await page.locator('#diagram [data-node=scoreSaved]').getAttribute('class')).not.toContain(
      'visited',
    );
    for (const edge of [
      'pending>userSaved',
      'userSaved>compensating.saveUserScoreCallback',
      'compensating.saveUserScoreCallback>compensating.saveUserCallback',
      'compensating.saveUserCallback>aborted',
    ]) {
      expect(await page.locator(`#diagram [data-edge="${edge}"]`).getAttribute('class'), edge).toContain(
        'taken',
      );
    }
    expect(
      await page.locator('#diagram [data-edge="userSaved>scoreSaved"]').getAttribute('class'),
    ).not.toContain('taken');

    // The hostile name is shown as text, and nothing it carried ran.
    expect(await page.locator('#input').textContent()).toContain(XSS_NAME);
    expect(await page.locator('#input script, #input img').count()).toBe(0);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(await page.evaluate("sessionStorage.getItem('saga-admin-token')")).toBe(TEST_ADMIN_TOKEN);
    expect(await page.locator('#retry').count()).toBe(0); // nothing waits in a final saga

    await page.screenshot({ path: new URL('dashboard-saga.png', ARTIFACTS).pathname, fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows a saga’s trace id as a link to the trace UI, and nothing for a saga without one', async () => {
    const traced = await register(7101, 'Traced', 1);
    const untraced = await register(7102, 'Untraced', 1);
    // As a process with tracing on writes it (this test's app runs without the SDK).
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await queryOnce(service.database.url, 'UPDATE saga SET trace_context = ? WHERE gid = ?', [
      `00-${traceId}-00f067aa0ba902b7-01`,
      traced,
    ]);

    const { page, problems } = await openDashboard();
    await page.fill('#token', TEST_ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await page.goto(`${service.url}/dashboard#/saga/${traced}`);
    const link = page.locator('#trace a');
    await expect.poll(() => link.textContent()).toBe(traceId);
    expect(await link.getAttribute('href')).toBe(`https://traces.example/trace/${traceId}`);
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');

    await page.goto(`${service.url}/dashboard#/saga/${untraced}`);
    // Both sagas are in scoreSaved: wait for the page to show the second one, not the first.
    await expect.poll(() => page.locator('h1').textContent()).toBe(untraced);
    await expect.poll(() => page.locator('#state').textContent()).toBe('scoreSaved');
    expect(await page.locator('#trace').count()).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('offers Retry on a saga whose step waits in backoff, and the saga goes on at once', async () => {
    await service.database.pool.query('RENAME TABLE user_score TO user_score_away');
    let gid: string;
    try {
      const response = await call(service.url, 'POST', '/register', {
        body: { id: 7100, name: 'Waiting', gender: 'x', score: 4 },
      });
      expect(response.status).toBe(202);
      gid = response.body.gid;
      await expect
        .poll(async () => (await call(service.url, 'GET', `/sagas/${gid}`, { headers: admin })).body.state)
        .toBe('userSaved.waiting');
    } finally {
      await service.database.pool.query('RENAME TABLE user_score_away TO user_score');
    }

    const { page, problems } = await openDashboard();
    await page.fill('#token', TEST_ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('#counts');
    await page.goto(`${service.url}/dashboard#/saga/${gid}`);
    await page.waitForSelector('#retry');
    expect(await page.locator('#diagram [data-node=userSaved]').getAttribute('class')).toContain('current');
    await page.screenshot({ path: new URL('dashboard-waiting.png', ARTIFACTS).pathname, fullPage: true });
    await page.click('#retry');
    await expect.poll(() => page.locator('#state').textContent(), { timeout: 15_000 }).toBe('scoreSaved');
    expect(await page.locator('#retry').count()).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('asks for the token again when the one given is refused', async () => {
    const { page } = await openDashboard();
    await page.fill('#token', 'not-the-admin-token');
    await page.click('button[type=submit]');
    await expect.poll(() => page.locator('[role=alert]').textContent()).toContain('refused');
    expect(await page.evaluate("sessionStorage.getItem('saga-admin-token')")).toBeNull();
    await page.close();
  });
});
