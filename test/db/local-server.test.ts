import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
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

  it('initialises a data directory and starts on a free port', async () => {
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

  it('lets root in only with the random password kept in its directory (0600, in a 0700 directory)', async () => {
    const password = (await readFile(join(dir, 'mysql', 'root-password'), 'utf8')).trim();
    expect(password.length).toBeGreaterThanOrEqual(32);
    expect((await stat(join(dir, 'mysql', 'root-password'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'mysql'))).mode & 0o777).toBe(0o700);
    expect(new URL(server!.url).password).toBe(password);
    // Any local process can reach the TCP port: without the password it gets nothing.
    await expect(
      mysql.createConnection({ host: '127.0.0.1', port: server!.port, user: 'root', connectTimeout: 2_000 }),
    ).rejects.toMatchObject({ code: 'ER_ACCESS_DENIED_ERROR' });
    // Nor is the password left lying around in the SQL the server ran at start.
    expect(existsSync(join(dir, 'mysql', 'init.sql'))).toBe(false);
  });

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
