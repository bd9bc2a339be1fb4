import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const FILE = 'dev-secret';
// O_NOFOLLOW: a symlink planted at the path is refused (ELOOP), not followed to a file someone chose.
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

export type DevelopmentSecret =
  | { readonly secret: string; readonly created: boolean }
  /** The file is there but cannot be trusted, or the directory cannot be used: why. */
  | { readonly refused: string };

/** Why an open dev-secret file cannot be trusted: another owner, or readable or writable by others. */
function distrust(fd: number, path: string): string | undefined {
  const stat = fstatSync(fd);
  if (!stat.isFile()) return `${path} is not a regular file`;
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) return `${path} belongs to another user (uid ${stat.uid})`;
  if ((stat.mode & 0o077) !== 0) {
    return `${path} is open to other users (mode 0${(stat.mode & 0o777).toString(8)}); delete it to make a new one`;
  }
  return undefined;
}

function readTrusted(path: string): DevelopmentSecret | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    return { refused: code === 'ELOOP' ? `${path} is a symbolic link` : `${path} cannot be read (${code})` };
  }
  try {
    const problem = distrust(fd, path);
    if (problem) return { refused: problem };
    const secret = readFileSync(fd, 'utf8').trim();
    return secret.length >= 32 ? { secret, created: false } : { refused: `${path} holds no usable secret` };
  } finally {
    closeSync(fd);
  }
}

/**
 * The secret a development process uses when JWT_SECRET is not set: random, made once and kept in the
 * data directory (created 0700; the file 0600), so every local process and every restart shares it. A
 * random one per process would strand sealed saga inputs on a restart (a resumed saga could not open
 * its password hash) and log everybody out. Whoever can write the file can forge tokens, so a file of
 * another user, open to others, or reached through a symlink is not used (issue #14); the caller then
 * falls back to a secret for this process alone and says why.
 */
export function developmentSecret(dataDir: string): DevelopmentSecret {
  const path = join(dataDir, FILE);
  const existing = readTrusted(path);
  if (existing) return existing;
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const secret = randomBytes(32).toString('base64url');
    // O_EXCL: of two processes starting at once, the second reads what the first wrote.
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600);
    try {
      writeSync(fd, `${secret}\n`);
    } finally {
      closeSync(fd);
    }
    return { secret, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      return readTrusted(path) ?? { refused: `${path} vanished while it was being read` };
    }
    return { refused: `${dataDir} is not writable (${(error as NodeJS.ErrnoException).code})` };
  }
}
