import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { hostname, tmpdir, userInfo } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';

const run = promisify(execFile);

/** Where `npm start` looks first when DATABASE_URL is unset. */
export const SHARED_SERVER_URL = 'mysql://root@127.0.0.1:3306/saga';

export interface LocalServerLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface ResolvedDatabase {
  readonly url: string;
  /** Stops the private server if this process started one; otherwise does nothing. */
  stop(): Promise<void>;
}

/**
 * The database `npm start` uses when DATABASE_URL is unset: the server on 127.0.0.1:3306 if root gets in
 * without a password, else a private MariaDB/MySQL server started from the system's binaries with its
 * data under `dataDir`, on a free loopback port, stopped again when the service exits.
 */
export async function resolveLocalDatabase(dataDir: string, log: LocalServerLog): Promise<ResolvedDatabase> {
  const shared = await probe(SHARED_SERVER_URL);
  if (shared === true) {
    log.info('DATABASE_URL is not set: using the server on 127.0.0.1:3306 (database "saga")');
    return { url: SHARED_SERVER_URL, stop: async () => {} };
  }
  log.info(
    `DATABASE_URL is not set and 127.0.0.1:3306 ${shared}: starting a private server under ${dataDir}`,
  );
  const server = await startPrivateServer(resolve(dataDir, 'mysql'), log);
  return { url: `${server.url}saga`, stop: server.stop };
}

async function probe(url: string): Promise<true | string> {
  try {
    const connection = await mysql.createConnection({
      uri: url.replace(/\/saga$/, '/'),
      connectTimeout: 1_500,
    });
    await connection.end();
    return true;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ECONNREFUSED') return 'does not answer';
    if (code === 'ER_ACCESS_DENIED_ERROR') return 'does not let root in without a password';
    return `is not usable (${code ?? String(error)})`;
  }
}

export interface PrivateServer {
  /** `mysql://root:<password>@127.0.0.1:<port>/` (no database). */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

interface ServerBinaries {
  readonly server: string;
  readonly flavor: 'mariadb' | 'mysql';
  /** MariaDB's system-table installer; MySQL initialises with the server binary itself. */
  readonly installer?: string;
}

const SEARCH_DIRS = [
  '/usr/sbin',
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/local/mysql/bin',
  '/opt/homebrew/bin',
];

function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...SEARCH_DIRS].filter(Boolean);
  return dirs.map((dir) => join(dir, name)).find((path) => existsSync(path));
}

export function findServerBinaries(): ServerBinaries | undefined {
  const mariadbd = findExecutable('mariadbd');
  if (mariadbd) {
    return {
      server: mariadbd,
      flavor: 'mariadb',
      installer: findExecutable('mariadb-install-db') ?? findExecutable('mysql_install_db'),
    };
  }
  const mysqld = findExecutable('mysqld');
  if (!mysqld) return undefined;
  // Older MariaDB packages ship only `mysqld`; their installer gives them away.
  const installer = findExecutable('mariadb-install-db');
  return installer ? { server: mysqld, flavor: 'mariadb', installer } : { server: mysqld, flavor: 'mysql' };
}

export const NO_SERVER_HELP =
  'No MySQL-compatible server answers on 127.0.0.1:3306 and no mariadbd or mysqld binary was found to start one.\n' +
  'Either install one (Debian/Ubuntu: sudo apt-get install -y mariadb-server; macOS: brew install mariadb)\n' +
  'or point the service at a server: DATABASE_URL=mysql://user:password@host:3306/saga npm start';

/** The uid-0 case: mariadbd and mysqld refuse to run as root unless told to. */
function userFlag(): string[] {
  return [`--user=${userInfo().username}`];
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

interface ServerState {
  readonly pid: number;
  readonly port: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const PASSWORD_FILE = 'root-password';

/**
 * The private server's root password: random, made once and kept in `dir` (mode 0600), which only this
 * user can enter (0700). Any local process could otherwise connect to the server's TCP port as root
 * with no password (issue #14).
 */
async function rootPassword(dir: string): Promise<string> {
  const path = join(dir, PASSWORD_FILE);
  try {
    await writeFile(path, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  await chmod(path, 0o600);
  const password = (await readFile(path, 'utf8')).trim();
  if (!/^[\w-]{16,}$/.test(password)) throw new Error(`${path} does not hold a password this service made`);
  return password;
}

/**
 * SQL the server runs at start, before it serves its first connection: root gets the password, on every
 * host entry the installer made (a data directory initialised by an older version had none).
 */
function passwordStatements(password: string): string {
  const hosts = ['localhost', '127.0.0.1', '::1', '%', hostname()];
  return `${hosts.map((host) => `ALTER USER IF EXISTS 'root'@'${host.replace(/'/g, "''")}' IDENTIFIED BY '${password}';`).join('\n')}\n`;
}

/** Starts (initialising on first use) a private server whose files live in `dir`; on `port` if given. */
export async function startPrivateServer(
  dir: string,
  log: LocalServerLog,
  options: { readonly port?: number } = {},
): Promise<PrivateServer> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const password = await rootPassword(dir);
  const urlAt = (port: number) => `mysql://root:${password}@127.0.0.1:${port}/`;
  const stateFile = join(dir, 'server.json');
  const existing = await readFile(stateFile, 'utf8')
    .then((text) => JSON.parse(text) as ServerState)
    .catch(() => undefined);
  if (existing && alive(existing.pid) && (await probe(urlAt(existing.port))) === true) {
    // Left running by a process that was killed; reuse it rather than fight over its data directory.
    log.warn(`reusing the private server already running on port ${existing.port} (pid ${existing.pid})`);
    return { url: urlAt(existing.port), port: existing.port, stop: async () => {} };
  }

  const binaries = findServerBinaries();
  if (!binaries) throw new Error(NO_SERVER_HELP);

  const dataDir = join(dir, 'data');
  if (!existsSync(join(dataDir, 'mysql'))) {
    log.info(`initialising a new ${binaries.flavor} data directory in ${dataDir}`);
    await initialise(binaries, dataDir);
  }

  const port = options.port ?? (await freePort());
  // Unix socket paths are limited to ~107 bytes; fall back to the temp dir for deep data directories.
  let socket = join(dir, 'mysqld.sock');
  if (socket.length > 100) socket = join(tmpdir(), `saga-mysqld-${port}.sock`);
  const initFile = join(dir, 'init.sql');
  await writeFile(initFile, passwordStatements(password), { mode: 0o600 });
  const child = spawn(
    binaries.server,
    [
      '--no-defaults',
      `--datadir=${dataDir}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${socket}`,
      `--pid-file=${join(dir, 'mysqld.pid')}`,
      `--log-error=${join(dir, 'error.log')}`,
      '--skip-name-resolve',
      `--init-file=${initFile}`,
      ...userFlag(),
    ],
    { stdio: 'ignore' },
  );
  const url = urlAt(port);
  try {
    await waitUntilReady(child, url, join(dir, 'error.log'));
  } finally {
    await rm(initFile, { force: true });
  }
  await writeFile(stateFile, JSON.stringify({ pid: child.pid ?? 0, port } satisfies ServerState));
  log.info(`private ${binaries.flavor} server listening on 127.0.0.1:${port} (data in ${dataDir})`);

  return {
    url,
    port,
    async stop() {
      await stopChild(child);
      await rm(stateFile, { force: true });
    },
  };
}

async function initialise(binaries: ServerBinaries, dataDir: string): Promise<void> {
  if (binaries.flavor === 'mariadb') {
    if (!binaries.installer)
      throw new Error(`found ${binaries.server} but not mariadb-install-db to initialise it`);
    await run(binaries.installer, [
      '--no-defaults',
      `--datadir=${dataDir}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      ...userFlag(),
    ]);
  } else {
    await run(binaries.server, [
      '--no-defaults',
      `--datadir=${dataDir}`,
      '--initialize-insecure',
      ...userFlag(),
    ]);
  }
}

async function waitUntilReady(child: ChildProcess, url: string, errorLog: string): Promise<void> {
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      const tail = await readFile(errorLog, 'utf8').then(
        (text) => text.split('\n').slice(-15).join('\n'),
        () => '',
      );
      throw new Error(`the private database server exited (code ${exited}) while starting:\n${tail}`);
    }
    if ((await probe(url)) === true) return;
    await sleep(200);
  }
  child.kill('SIGKILL');
  throw new Error(`the private database server did not answer on ${url} within 60 s (see ${errorLog})`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}
