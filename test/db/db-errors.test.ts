import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import {
  classifyDbError,
  dbCall,
  isDuplicateKey,
  isTransientDbError,
  PermanentDbError,
} from '../../src/db/db-errors.js';
import { createUserStore } from '../../src/db/user-store.js';
import { TransientFailure } from '../../src/domain/errors.js';

describe('database error classification', () => {
  it.each([
    ['deadlock', { code: 'ER_LOCK_DEADLOCK', errno: 1213 }],
    ['lock wait timeout', { code: 'ER_LOCK_WAIT_TIMEOUT', errno: 1205 }],
    ['too many connections', { code: 'ER_CON_COUNT_ERROR', errno: 1040 }],
    ['connection refused', { code: 'ECONNREFUSED' }],
    ['connection lost', { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }],
    ['server gone away', { errno: 2006 }],
    ['wrapped by drizzle', Object.assign(new Error('Failed query'), { cause: { code: 'ER_LOCK_DEADLOCK' } })],
  ])('treats %s as transient', (_name, error) => {
    expect(isTransientDbError(error)).toBe(true);
  });

  it.each([
    ['duplicate key', { code: 'ER_DUP_ENTRY', errno: 1062 }],
    ['data too long', { code: 'ER_DATA_TOO_LONG', errno: 1406 }],
    ['bad value', { code: 'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD', errno: 1366 }],
    ['syntax error', { code: 'ER_PARSE_ERROR', errno: 1064 }],
    ['a plain bug', new TypeError('x is undefined')],
  ])('treats %s as permanent', (_name, error) => {
    expect(isTransientDbError(error)).toBe(false);
  });

  it.each([
    ['duplicate key', { code: 'ER_DUP_ENTRY', errno: 1062 }, 'duplicate'],
    ['data too long', { code: 'ER_DATA_TOO_LONG', errno: 1406 }, 'tooLong'],
    ['bad value', { code: 'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD', errno: 1366 }, 'badValue'],
    ['syntax error', { code: 'ER_PARSE_ERROR', errno: 1064 }, 'other'],
  ])('types %s as a PermanentDbError', (_name, error, reason) => {
    const typed = classifyDbError(Object.assign(new Error('Failed query'), { cause: error }));
    expect(typed).toBeInstanceOf(PermanentDbError);
    expect(typed).toMatchObject({ reason, code: error.code });
  });

  it('types transient errors as TransientFailure and leaves a plain bug alone', () => {
    expect(classifyDbError({ code: 'ER_LOCK_DEADLOCK', errno: 1213 })).toBeInstanceOf(TransientFailure);
    const bug = new TypeError('x is undefined');
    expect(classifyDbError(bug)).toBe(bug);
  });

  it('recognises a duplicate key through drizzle’s wrapper', () => {
    expect(
      isDuplicateKey(Object.assign(new Error('Failed query'), { cause: { code: 'ER_DUP_ENTRY' } })),
    ).toBe(true);
    expect(isDuplicateKey({ code: 'ER_DATA_TOO_LONG' })).toBe(false);
  });

  it('turns a refused connection into a TransientFailure', async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const database = openDatabase('mysql://root@127.0.0.1:1/nowhere', { poolSize: 1 });
    try {
      await expect(dbCall(() => database.pool.query('SELECT 1'))).rejects.toBeInstanceOf(TransientFailure);
      await expect(createUserStore(database.db).findById(1)).rejects.toMatchObject({ code: 'unavailable' });
    } finally {
      await database.close();
    }
  });
});
