import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_NODE_FLAGS } from '../src/node-flags.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { type ServiceProcess, startServiceProcess } from './helpers/service-process.js';

// What `npm start` runs is the compiled service in dist/ (global-setup builds it as `npm run build`
// does). Files that are not code are found from the project root, not next to the compiled module.
describe('the compiled service (dist/src/main.js)', () => {
  let database: TestDatabase;
  let service: ServiceProcess;
  beforeAll(async () => {
    database = await createTestDatabase();
    service = await startServiceProcess({ DATABASE_URL: database.url });
  });
  afterAll(async () => {
    await service?.kill('SIGTERM');
    await database?.drop();
  });

  it('runs as plain JavaScript, without a TypeScript loader', () => {
    const commandLine = readFileSync(`/proc/${service.child.pid}/cmdline`, 'utf8').split('\0');
    expect(commandLine).toContain('dist/src/main.js');
    expect(commandLine.join(' ')).not.toMatch(/tsx/);
  });

  it('runs with the Node flags npm start gives it (the ones the tests and the bench use)', () => {
    const scripts = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).scripts as {
      start: string;
    };
    const startArgs = scripts.start.split('&&').at(-1)?.trim().split(/\s+/) ?? [];
    expect(startArgs).toEqual(['node', ...SERVICE_NODE_FLAGS, 'dist/src/main.js']);
    const commandLine = readFileSync(`/proc/${service.child.pid}/cmdline`, 'utf8').split('\0');
    for (const flag of SERVICE_NODE_FLAGS) expect(commandLine).toContain(flag);
  });

  it('finds its migrations, its dashboard assets and its package version', async () => {
    // Migrations ran: a registration lands in the tables they create.
    const registered = await fetch(`${service.url}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Built', gender: 'x', score: 3 }),
    });
    expect(registered.status).toBe(201);

    const script = await fetch(`${service.url}/dashboard/dashboard.js`);
    expect(script.status).toBe(200);
    expect(await script.text()).toBe(
      readFileSync(new URL('../src/transports/http/dashboard/dashboard.js', import.meta.url), 'utf8'),
    );

    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    const docs = await fetch(`${service.url}/docs/json`);
    expect(docs.status).toBe(200);
    expect(((await docs.json()) as { info: { version: string } }).info.version).toBe(version);
  });

  it('loads neither gRPC nor the inspector in an api process with its services in-process', async () => {
    // A process of its own: what a process loads is only visible from inside it.
    const script = `
      import { createRequire } from 'node:module';
      import pino from 'pino';
      const { loadConfig } = await import('./dist/src/config.js');
      const { buildApp } = await import('./dist/src/app.js');
      const config = loadConfig({ ...process.env, ROLES: 'api', PORT: '0', DATABASE_URL: ${JSON.stringify(database.url)} });
      const app = await buildApp(config, pino({ level: 'warn' }));
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      await app.close();
      console.log(JSON.stringify(loaded.filter((path) => /@grpc|protobufjs|@statelyai/.test(path))));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, NODE_ENV: 'test', JWT_SECRET: 'build-test-secret-build-test-secret-0' },
    });
    expect(JSON.parse(stdout.trim().split('\n').at(-1) as string)).toEqual([]);
  });
});
