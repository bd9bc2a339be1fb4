import type { BarrierOutcome, SagaOp } from '../domain/branch.js';
import type { ErrorInfo, ErrorKind } from '../domain/errors.js';
import type { ProgressRecord, StepRecord, StepStatus } from '../domain/saga.js';
import type { RetryPolicy } from './backoff.js';

/**
 * What every saga machine keeps in its context, and the events it takes and emits. Persisted with every
 * snapshot: a field added here must have a default for the snapshots already in the log (withRetryPolicy).
 */

/** What a saga is started with. */
export interface SagaStart<Input> {
  readonly gid: string;
  readonly input: Input;
  /** Epoch ms after which a forward step that keeps failing transiently turns into compensation. */
  readonly deadline: number;
  /** The backoff the saga's retries follow; kept in the saga, so a resumed saga keeps its own. */
  readonly retry: RetryPolicy;
}

/** How one call of a step ended. */
export const attemptOutcomes = ['succeeded', 'failed', 'retrying'] as const;

/** One call of one step, kept in the saga's context: the timeline the dashboard shows. */
export interface AttemptRecord {
  readonly step: string;
  readonly op: SagaOp;
  readonly attempt: number;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly outcome: (typeof attemptOutcomes)[number];
  readonly barrier: BarrierOutcome | null;
  readonly error: ErrorInfo | null;
}

export interface StepProgress {
  readonly op: SagaOp;
  readonly status: StepStatus;
  readonly attempts: number;
  readonly lastError: ErrorInfo | null;
  /** When the attempt under way started (epoch ms). Absent in snapshots written before it existed. */
  readonly startedAt?: number;
}

export interface SagaContext<Input> extends SagaStart<Input> {
  /** Results of the steps that succeeded, by step name: how a step's output flows forward. */
  readonly results: Readonly<Record<string, unknown>>;
  readonly steps: Readonly<Record<string, StepProgress>>;
  /** When the step waiting in backoff is due (epoch ms); kept here because XState's `after` is not persisted. */
  readonly nextAttemptAt: number | null;
  /** The failure that made the saga compensate. */
  readonly error: ErrorInfo | null;
  readonly lastError: ErrorInfo | null;
  readonly history: readonly AttemptRecord[];
  /** Oldest timeline entries dropped to bound the context (a compensation can retry for a long time). */
  readonly droppedHistory: number;
}

/** What a step actor is invoked with (persisted with the snapshot: a restored invoke runs with it again). */
export interface StepInput<Input> {
  readonly gid: string;
  readonly input: Input;
  readonly results: Readonly<Record<string, unknown>>;
}

/** What a step actor resolves with. A failure rejects, with a DomainError when it is ours. */
export interface StepDone {
  readonly value: unknown;
  readonly barrier: BarrierOutcome;
}

/** Emitted when a step fails, for logs and metrics (`actor.on('stepFailed', ...)`). */
export interface StepFailed {
  readonly type: 'stepFailed';
  readonly gid: string;
  readonly step: string;
  readonly op: SagaOp;
  readonly attempt: number;
  readonly error: ErrorInfo;
  readonly kind: ErrorKind;
  /** What the saga does next. */
  readonly next: 'retry' | 'compensate' | 'timeout';
}

/**
 * `RETRY_NOW`: an operator fixed a downstream outage, so the step waiting in backoff runs now.
 * `RESUME`: the saga was restored from its log record; the step state it is in is entered again, which
 * starts its call (or its backoff wait) anew.
 */
export type SagaEvent = { type: 'RETRY_NOW' } | { type: 'RESUME' };

export function initialContext<Input>(start: SagaStart<Input>): SagaContext<Input> {
  return {
    ...start,
    results: {},
    steps: {},
    nextAttemptAt: null,
    error: null,
    lastError: null,
    history: [],
    droppedHistory: 0,
  };
}

/**
 * What the log keeps of a context besides the input (written once) and the timeline (detail), nulls
 * left out (see ProgressRecord); contextFromRecord puts them back.
 */
export type SagaProgressRecord = Omit<
  SagaContext<unknown>,
  'gid' | 'input' | 'history' | 'droppedHistory' | 'nextAttemptAt' | 'error' | 'lastError' | 'steps'
> &
  Pick<ProgressRecord, 'nextAttemptAt' | 'error' | 'lastError' | 'steps'>;

/** The timeline, as the log's `detail` keeps it. */
export interface SagaDetail {
  readonly history: readonly AttemptRecord[];
  readonly droppedHistory: number;
}

/** The context as the log records it: everything a resumed saga needs, minus the input and the timeline. */
export function progressRecordOf(context: SagaContext<unknown>): SagaProgressRecord {
  const steps: Record<string, StepRecord> = {};
  for (const [name, step] of Object.entries(context.steps)) {
    const { lastError, ...kept } = step;
    steps[name] = lastError === null ? kept : step;
  }
  const record: { -readonly [K in keyof SagaProgressRecord]: SagaProgressRecord[K] } = {
    deadline: context.deadline,
    retry: context.retry,
    results: context.results,
    steps,
  };
  if (context.nextAttemptAt !== null) record.nextAttemptAt = context.nextAttemptAt;
  if (context.error !== null) record.error = context.error;
  if (context.lastError !== null) record.lastError = context.lastError;
  return record;
}

/**
 * The timeline, once there is more to it than clean successes: a clean saga's timeline says nothing its
 * state does not, so it is not written (null) and the log row stays small.
 */
export function detailOf(context: SagaContext<unknown>): SagaDetail | null {
  const clean =
    context.droppedHistory === 0 && context.history.every((entry) => entry.outcome === 'succeeded');
  return clean ? null : { history: context.history, droppedHistory: context.droppedHistory };
}

/**
 * A context rebuilt from a log record. Records written before a saga carried its retry policy (machine
 * version 1 until 2026-12-02) take this process's policy; a record without a detail had a clean timeline,
 * which is not kept.
 */
export function contextFromRecord<Input>(
  gid: string,
  input: Input,
  record: ProgressRecord,
  recordedDetail: unknown,
  retry: RetryPolicy,
): SagaContext<Input> {
  // Both were written by progressRecordOf and detailOf (or, for version 1 rows, by migration 0004).
  const progress = record as Partial<SagaProgressRecord>;
  const detail = recordedDetail as Partial<SagaDetail> | null;
  const steps: Record<string, StepProgress> = {};
  for (const [name, step] of Object.entries(progress.steps ?? {})) {
    steps[name] = { ...(step as StepProgress), lastError: step.lastError ?? null };
  }
  return {
    ...initialContext({ gid, input, deadline: progress.deadline ?? 0, retry: progress.retry ?? retry }),
    results: progress.results ?? {},
    steps,
    nextAttemptAt: progress.nextAttemptAt ?? null,
    error: progress.error ?? null,
    lastError: progress.lastError ?? null,
    history: detail?.history ?? [],
    droppedHistory: detail?.droppedHistory ?? 0,
  };
}
