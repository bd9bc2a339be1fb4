import { describe, expect, it } from 'vitest';
import { createSecretBox } from '../../src/domain/secret-box.js';

const box = createSecretBox('a-key-of-at-least-thirty-two-characters-0123');
const hash = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5';

/** The sealed value with its tag (the last part) replaced. */
function withTag(sealed: string, tag: (bytes: Buffer) => Buffer): string {
  const parts = sealed.split('.');
  parts[3] = tag(Buffer.from(parts[3] as string, 'base64url')).toString('base64url');
  return parts.join('.');
}

describe('SecretBox', () => {
  it('opens what it sealed, with or without a context', () => {
    expect(box.open(box.seal(hash))).toBe(hash);
    expect(box.open(box.seal(hash, 'gid-1'), 'gid-1')).toBe(hash);
    expect(box.seal(hash)).not.toBe(box.seal(hash)); // a fresh IV each time
  });

  it('refuses a value whose tag was cut short, which GCM would otherwise check only in part', () => {
    const sealed = box.seal(hash, 'gid-1');
    for (const bytes of [4, 8, 12, 15])
      expect(
        () =>
          box.open(
            withTag(sealed, (tag) => tag.subarray(0, bytes)),
            'gid-1',
          ),
        `${bytes}`,
      ).toThrow();
  });

  it('refuses a value sealed for another saga, or opened without its context', () => {
    const sealed = box.seal(hash, 'gid-1');
    expect(() => box.open(sealed, 'gid-2')).toThrow();
    expect(() => box.open(sealed)).toThrow(/needs its context/);
  });

  it('refuses altered values and values of another key', () => {
    const sealed = box.seal(hash, 'gid-1');
    expect(() =>
      box.open(
        withTag(sealed, (tag) => Buffer.from(tag.map((byte) => byte ^ 1))),
        'gid-1',
      ),
    ).toThrow();
    expect(() => box.open(sealed.replace(/\.[^.]+\./, '.AAAA.'), 'gid-1')).toThrow();
    expect(() =>
      createSecretBox('another-key-of-at-least-thirty-two-chars-99').open(sealed, 'gid-1'),
    ).toThrow();
    expect(() => box.open('v2.a.b')).toThrow(/not a sealed value/);
  });
});
