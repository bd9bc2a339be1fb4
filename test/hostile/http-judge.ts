import { expect } from 'vitest';
import { call } from '../helpers/app.js';
import { queryOnce } from '../helpers/database.js';

export interface RowCounts {
  readonly users: number;
  readonly scores: number;
  readonly sagas: number;
  readonly barriers: number;
}

/** The rows a request could write: users, scores, sagas and barriers. */
export async function rowCounts(databaseUrl: string): Promise<RowCounts> {
  const [row] = await queryOnce(
    databaseUrl,
    'SELECT (SELECT COUNT(*) FROM user) AS users, (SELECT COUNT(*) FROM user_score) AS scores, (SELECT COUNT(*) FROM saga) AS sagas, (SELECT COUNT(*) FROM barrier) AS barriers',
  );
  return {
    users: Number(row?.users),
    scores: Number(row?.scores),
    sagas: Number(row?.sagas),
    barriers: Number(row?.barriers),
  };
}

export type FuzzRequest = { body?: unknown; raw?: string; headers?: Record<string, string> };

export interface Judged {
  readonly url: string;
  readonly databaseUrl: string;
}

/**
 * Sends one request and checks the two promises: no 5xx, and a refusal (4xx) changes nothing. With
 * `readOnly`, nothing may change whatever the answer (the route only reads).
 */
export async function judge(
  service: Judged,
  method: string,
  path: string,
  request: FuzzRequest,
  options: { readOnly?: boolean } = {},
) {
  const before = await rowCounts(service.databaseUrl);
  const response = await call(service.url, method, path, request);
  expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(500);
  if (response.status >= 400 || options.readOnly) {
    const after = await rowCounts(service.databaseUrl);
    if (response.body?.status === 'aborted') {
      // A saga that ran and refused (taken id, rejected score): its log and barrier rows are its record,
      // but no business row is left behind.
      expect({ users: after.users, scores: after.scores }).toEqual({
        users: before.users,
        scores: before.scores,
      });
    } else {
      expect(after, `${method} ${path} answered ${response.status}`).toEqual(before);
    }
  }
  if (response.status >= 400) expect(response.body).toHaveProperty('error.code');
  return response;
}
