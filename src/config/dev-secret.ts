import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const FILE = 'dev-secret';

/**
 * The secret a development process uses when JWT_SECRET is not set: random, made once and kept in the
 * data directory (mode 0600), so every local process and every restart shares it. A random one per
 * process would strand sealed saga inputs on a restart (a resumed saga could not open its password hash)
 * and log everybody out. `undefined` when the directory cannot be used: the caller falls back to a
 * secret for this process alone.
 */
export function developmentSecret(dataDir: string): { secret: string; created: boolean } | undefined {
  const path = join(dataDir, FILE);
  try {
    const existing = readFileSync(path, 'utf8').trim();
    if (existing.length >= 32) return { secret: existing, created: false };
  } catch {
    // not there yet
  }
  try {
    mkdirSync(dataDir, { recursive: true });
    const secret = randomBytes(32).toString('base64url');
    // `wx`: of two processes starting at once, the second reads what the first wrote.
    writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return { secret, created: true };
  } catch {
    try {
      const existing = readFileSync(path, 'utf8').trim();
      return existing.length >= 32 ? { secret: existing, created: false } : undefined;
    } catch {
      return undefined;
    }
  }
}
