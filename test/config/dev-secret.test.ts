import { chmodSync, chownSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { developmentSecret } from '../../src/config/dev-secret.js';
import { loadConfig } from '../../src/config.js';

// Whoever can write DATA_DIR/dev-secret can forge every token a development process accepts (issue #14).

let base: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'saga-dev-secret-'));
});
afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

const planted = 'a-secret-someone-else-chose-0123456789';

describe('developmentSecret', () => {
  it('creates the data directory 0700 and the secret 0600, and reads it back', () => {
    const dataDir = join(base, 'data');
    const made = developmentSecret(dataDir);
    expect(made).toMatchObject({ created: true });
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'dev-secret')).mode & 0o777).toBe(0o600);
    expect(developmentSecret(dataDir)).toEqual({
      secret: (made as { secret: string }).secret,
      created: false,
    });
  });

  it('does not follow a symbolic link planted at its path', () => {
    writeFileSync(join(base, 'elsewhere'), planted, { mode: 0o600 });
    symlinkSync(join(base, 'elsewhere'), join(base, 'dev-secret'));
    expect(developmentSecret(base)).toEqual({ refused: expect.stringMatching(/is a symbolic link/) });
  });

  it('does not use a secret other users can read or write', () => {
    writeFileSync(join(base, 'dev-secret'), planted, { mode: 0o600 });
    chmodSync(join(base, 'dev-secret'), 0o644);
    expect(developmentSecret(base)).toEqual({
      refused: expect.stringMatching(/open to other users \(mode 0644\)/),
    });
    chmodSync(join(base, 'dev-secret'), 0o620);
    expect(developmentSecret(base)).toEqual({ refused: expect.stringMatching(/open to other users/) });
  });

  it.runIf(process.getuid?.() === 0)('does not use a secret that belongs to another user', () => {
    writeFileSync(join(base, 'dev-secret'), planted, { mode: 0o600 });
    chownSync(join(base, 'dev-secret'), 65_534, 65_534);
    expect(developmentSecret(base)).toEqual({ refused: expect.stringMatching(/belongs to another user/) });
  });

  it('makes loadConfig fall back to a secret of its own, and say why', () => {
    writeFileSync(join(base, 'dev-secret'), planted, { mode: 0o644 });
    const config = loadConfig({ NODE_ENV: 'development', DATA_DIR: base });
    expect(config.jwt.secret).not.toBe(planted);
    expect(config.jwt.secret.length).toBeGreaterThanOrEqual(32);
    expect(config.warnings.join()).toMatch(/development secret cannot be used \(.*open to other users/);
  });
});
