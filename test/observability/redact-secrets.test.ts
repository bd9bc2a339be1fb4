import { describe, expect, it } from 'vitest';
import { isSecretKey, REDACTED, redactSecrets } from '../../src/observability/redact-secrets.js';

describe('redactSecrets', () => {
  it('redacts secret keys at any depth, in objects and arrays', () => {
    const event = {
      type: '@xstate.snapshot',
      snapshot: {
        context: {
          input: { user: { id: 1, name: 'Ada' }, sealedPasswordHash: 'v1.sealed', score: 5 },
          history: [{ step: 'saveUser', headers: { Authorization: 'Bearer abc' } }],
        },
      },
      event: { type: 'LOGIN', password: 'hunter22', token: 'jwt.jwt.jwt', apiKey: 'k', clientSecret: 's' },
    };
    expect(redactSecrets(event)).toEqual({
      type: '@xstate.snapshot',
      snapshot: {
        context: {
          input: { user: { id: 1, name: 'Ada' }, sealedPasswordHash: REDACTED, score: 5 },
          history: [{ step: 'saveUser', headers: { Authorization: REDACTED } }],
        },
      },
      event: { type: 'LOGIN', password: REDACTED, token: REDACTED, apiKey: REDACTED, clientSecret: REDACTED },
    });
  });

  it('leaves its input untouched', () => {
    const input = { user: { passwordHash: 'scrypt$abc' } };
    redactSecrets(input);
    expect(input.user.passwordHash).toBe('scrypt$abc');
  });

  it('follows toJSON, drops functions, and cuts cycles', () => {
    const snapshot: Record<string, unknown> = {
      toJSON: () => ({ value: 'pending', context: { passwordHash: 'h', at: new Date(0) } }),
    };
    const cyclic: Record<string, unknown> = { name: 'loop', run: () => 1 };
    cyclic.self = cyclic;
    expect(redactSecrets({ snapshot, cyclic })).toEqual({
      snapshot: { value: 'pending', context: { passwordHash: REDACTED, at: '1970-01-01T00:00:00.000Z' } },
      cyclic: { name: 'loop', self: '[circular]' },
    });
  });

  it('knows secret keys by name, not the names around them', () => {
    for (const key of [
      'password',
      'passwordHash',
      'sealedPasswordHash',
      'token',
      'refresh_token',
      'secret',
      'authorization',
      'cookie',
      'api_key',
      'privateKey',
      'credentials',
    ])
      expect(isSecretKey(key)).toBe(true);
    for (const key of ['gid', 'sessionId', 'user', 'score', 'status', 'input', 'context', 'definition'])
      expect(isSecretKey(key)).toBe(false);
  });
});
