import type { BarrierOutcome, BranchOp } from '../domain/branch.js';
import type { ErrorInfo, ErrorKind } from '../domain/errors.js';
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
/** Where a step stands. */
export const stepStatuses = ['running', 'waiting', 'succeeded', 'failed'] as const;

/** One call of one step, kept in the saga's context: the timeline the dashboard shows. */
export interface AttemptRecord {
  readonly step: string;
  readonly op: BranchOp;
  readonly attempt: number;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly outcome: (typeof attemptOutcomes)[number];
  readonly barrier: BarrierOutcome | null;
  readonly error: ErrorInfo | null;
}

export interface StepProgress {
  readonly op: BranchOp;
  readonly status: (typeof stepStatuses)[number];
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
  readonly op: BranchOp;
  readonly attempt: number;
  readonly error: ErrorInfo;
  readonly kind: ErrorKind;
  /** What the saga does next. */
  readonly next: 'retry' | 'compensate' | 'timeout';
}

/** An operator fixed a downstream outage: the step waiting in backoff runs now. */
export type SagaEvent = { type: 'RETRY_NOW' };

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
 * Snapshots persisted before a saga carried its retry policy (version 1 until 2026-12-02) resume with
 * this process's policy; every other part of their context and state is what the machine expects.
 */
export function withRetryPolicy(snapshot: unknown, retry: RetryPolicy): unknown {
  const persisted = snapshot as { context?: { retry?: RetryPolicy } } | null;
  if (!persisted?.context || persisted.context.retry !== undefined) return snapshot;
  return { ...persisted, context: { ...persisted.context, retry } };
}
