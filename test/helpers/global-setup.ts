import mysql from 'mysql2/promise';
import { TEST_SERVER_URL } from './database.js';

/** Fails the run at once, with a useful message, when no MySQL-compatible server answers. */
export default async function checkDatabaseServer(): Promise<() => Promise<void>> {
  let connection: mysql.Connection;
  try {
    connection = await mysql.createConnection({ uri: TEST_SERVER_URL, connectTimeout: 5_000 });
  } catch (error) {
    throw new Error(
      `The tests need a MySQL-compatible server at ${TEST_SERVER_URL} (root, empty password): ${String(error)}.\n` +
        'Start one (e.g. `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`) ' +
        'or set TEST_DATABASE_URL. `bash .ci/run` installs and starts MariaDB for you.',
    );
  }
  // Databases left behind by an interrupted run (each test file drops its own when it finishes).
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
  return async () => {};
}
