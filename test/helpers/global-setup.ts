import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import type { TestProject } from 'vitest/node';
import { findServerBinaries, NO_SERVER_HELP, startPrivateServer } from '../../src/db/local-server.js';
import { findOrStartRedis } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseServerUrl: string;
    redisUrl: string;
  }
}

const DEFAULT_SERVER_URL = 'mysql://root@127.0.0.1:3306/';

/**
 * Compiles the service into dist/ as `npm start` does, so tests that start it as a process run what
 * ships (see helpers/service-process.ts). Incremental: seconds when little changed.
 */
async function buildService(): Promise<void> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { maxBuffer: 1 << 24 });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`npm run build failed:\n${stdout}${stderr}`);
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const connection = await mysql.createConnection({ uri: url, connectTimeout: 2_000 });
    await connection.end();
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds the server the tests use: TEST_DATABASE_URL, else 127.0.0.1:3306 (root, no password), else a
 * private MariaDB/MySQL started from the system's binaries under .data/test-mysql, so `npm test` works on
 * a machine where the server is installed but not running.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await buildService();
  let url = process.env.TEST_DATABASE_URL ?? DEFAULT_SERVER_URL;
  let stop = async () => {};
  if (!(await answers(url))) {
    if (process.env.TEST_DATABASE_URL || !findServerBinaries()) {
      throw new Error(
        `The tests need a MySQL-compatible server at ${url} (root, no password).\n${NO_SERVER_HELP}`,
      );
    }
    const log = {
      info: (message: string) => console.log(message),
      warn: (message: string) => console.warn(message),
    };
    const server = await startPrivateServer(resolve('.data/test-mysql'), log);
    url = server.url;
    stop = server.stop;
  }
  await dropLeftovers(url);
  project.provide('databaseServerUrl', url);
  const redis = await findOrStartRedis();
  project.provide('redisUrl', redis.url);
  return async () => {
    await redis.stop();
    await stop();
  };
}

/** Databases left behind by an interrupted run (each test file drops its own when it finishes). */
async function dropLeftovers(url: string): Promise<void> {
  const connection = await mysql.createConnection({ uri: url });
  const [rows] = await connection.query<mysql.RowDataPacket[]>(
    "SELECT schema_name AS name FROM information_schema.schemata WHERE schema_name LIKE 't\\_%'",
  );
  const hourAgo = Date.now() - 3_600_000;
  for (const { name } of rows) {
    const created = Number.parseInt(String(name).split('_')[1] ?? '', 36);
    if (Number.isFinite(created) && created < hourAgo) {
      await connection.query(`DROP DATABASE IF EXISTS ${connection.escapeId(name)}`);
    }
  }
  await connection.end();
}
