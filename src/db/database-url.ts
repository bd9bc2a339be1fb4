/** The parts of a `mysql://user:password@host:port/database` URL we need beside mysql2's own parsing. */
export interface DatabaseLocation {
  readonly url: string;
  readonly database: string;
  /** The same server without a database, to create the database when it is missing. */
  readonly serverUrl: string;
}

export const DEFAULT_DATABASE = 'saga';

export function locateDatabase(url: string): DatabaseLocation {
  const parsed = new URL(url);
  let database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (database === '') {
    database = DEFAULT_DATABASE;
    parsed.pathname = `/${DEFAULT_DATABASE}`;
  }
  if (!/^[A-Za-z0-9_$-]{1,64}$/.test(database)) {
    throw new Error(
      `DATABASE_URL names the database "${database}": use letters, digits, _, $ or - (at most 64)`,
    );
  }
  const server = new URL(parsed.toString());
  server.pathname = '/';
  return { url: parsed.toString(), database, serverUrl: server.toString() };
}

/** The URL with its password hidden, for log lines. */
export function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
