import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findServerBinaries, type PrivateServer, startPrivateServer } from '../../src/db/local-server.js';
import { migrateDatabase } from '../../src/db/migrate.js';

const quiet = { info() {}, warn() {} };
const binaries = findServerBinaries();

// The machines CI runs on have MariaDB installed (.ci/run installs it); elsewhere there may be no binary.
describe.runIf(binaries !== undefined)('private database server', () => {
  let dir: string;
  let server: PrivateServer | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'saga-private-db-'));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('initialises a data directory, starts on a free port and accepts root without a password', async () => {
    server = await startPrivateServer(join(dir, 'mysql'), quiet);
    expect(server.port).not.toBe(3306);
    await migrateDatabase(`${server.url}saga`, ['saga', 'user', 'score', 'barrier']);
    const connection = await mysql.createConnection({ uri: `${server.url}saga` });
    const [rows] = await connection.query<mysql.RowDataPacket[]>('SHOW TABLES');
    await connection.end();
    expect(rows.map((row) => Object.values(row)[0]).sort()).toEqual(
      expect.arrayContaining(['barrier', 'saga', 'user', 'user_score']),
    );
  }, 120_000);

  it('stops the server it started', async () => {
    const url = server!.url;
    await server!.stop();
    server = undefined;
    await expect(mysql.createConnection({ uri: url, connectTimeout: 1_000 })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  }, 60_000);

  it('starts again from the same data directory, keeping its data', async () => {
    server = await startPrivateServer(join(dir, 'mysql'), quiet);
    const connection = await mysql.createConnection({ uri: `${server.url}saga` });
    const [rows] = await connection.query<mysql.RowDataPacket[]>("SHOW TABLES LIKE 'saga'");
    await connection.end();
    expect(rows).toHaveLength(1);
  }, 120_000);
});
