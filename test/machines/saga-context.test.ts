import { describe, expect, it } from 'vitest';
import {
  contextFromRecord,
  initialContext,
  progressRecordOf,
  type SagaContext,
} from '../../src/machines/saga-context.js';

const retry = { baseMs: 100, factor: 2, maxMs: 10_000 };
const start = { gid: 'g1', input: { user: { id: 1 } }, deadline: 1_800_000_000_000, retry };

describe('the progress record', () => {
  it('leaves nulls out, and the context rebuilt from it is the one it was made from', () => {
    const clean: SagaContext<unknown> = {
      ...initialContext(start),
      results: { saveUser: { id: 1 } },
      steps: {
        saveUser: { op: 'action', status: 'succeeded', attempts: 1, lastError: null, startedAt: 5 },
        saveUserScore: { op: 'action', status: 'running', attempts: 0, lastError: null, startedAt: 6 },
      },
    };
    const record = progressRecordOf(clean);
    expect(JSON.stringify(record)).not.toContain('null');
    expect(contextFromRecord('g1', start.input, record, null, { ...retry, baseMs: 1 })).toEqual(clean);
  });

  it('keeps what is not null: a failure, the step waiting in backoff, the error that made it compensate', () => {
    const error = { code: 'score_rejected' as const, message: "user score can't equal 10" };
    const failing: SagaContext<unknown> = {
      ...initialContext(start),
      steps: { saveUser: { op: 'action', status: 'waiting', attempts: 2, lastError: error } },
      nextAttemptAt: 1_800_000_000_500,
      error,
      lastError: error,
    };
    const record = progressRecordOf(failing);
    expect(record).toMatchObject({ nextAttemptAt: 1_800_000_000_500, error, lastError: error });
    expect(contextFromRecord('g1', start.input, record, null, retry)).toEqual(failing);
  });
});
