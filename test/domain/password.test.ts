import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../../src/domain/password.js';

describe('password hashing', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const stored = await hashPassword('s3cret-passphrase');
    expect(stored).toMatch(/^scrypt\$ln=14,r=8,p=5\$/);
    expect(stored).not.toContain('s3cret');
    expect(await verifyPassword('s3cret-passphrase', stored)).toBe(true);
    expect(await verifyPassword('s3cret-passphrasf', stored)).toBe(false);
  });

  it('salts every hash', async () => {
    expect(await hashPassword('same')).not.toBe(await hashPassword('same'));
  });

  it('refuses tampered or malformed hashes and a missing one', async () => {
    const stored = await hashPassword('pw-pw-pw-pw');
    const tampered = stored.replace(/.$/, (last) => (last === 'A' ? 'B' : 'A'));
    expect(await verifyPassword('pw-pw-pw-pw', tampered)).toBe(false);
    expect(await verifyPassword('pw-pw-pw-pw', 'plain text')).toBe(false);
    expect(await verifyPassword('pw-pw-pw-pw', stored.replace('ln=14', 'ln=40'))).toBe(false);
    expect(await verifyPassword('pw-pw-pw-pw', null)).toBe(false);
  });

  it('reads the parameters from the stored hash', async () => {
    const light = await hashPassword('pw-pw-pw-pw', { ln: 10, r: 8, p: 1 });
    expect(await verifyPassword('pw-pw-pw-pw', light)).toBe(true);
  });
});
