import type { SagaOp } from './branch.js';
import type { ErrorInfo } from './errors.js';

export const sagaStatuses = ['pending', 'compensating', 'succeeded', 'aborted'] as const;
export type SagaStatus = (typeof sagaStatuses)[number];
export const activeSagaStatuses = ['pending', 'compensating'] as const satisfies readonly SagaStatus[];

export function isFinalStatus(status: SagaStatus): boolean {
  return status === 'succeeded' || status === 'aborted';
}

/** Where a step of a saga stands. */
export const stepStatuses = ['running', 'waiting', 'succeeded', 'failed'] as const;
export type StepStatus = (typeof stepStatuses)[number];

/** How one step of a saga stands, as its log records it. */
export interface StepRecord {
  readonly op: SagaOp;
  readonly status: StepStatus;
  readonly attempts: number;
  /** Absent when there is none (the log leaves nulls out: it is written inside every branch). */
  readonly lastError?: ErrorInfo | null;
}

/**
 * What a resumed saga needs besides its state and input, as the log keeps it (JSON). The coordinator
 * may keep more in it; these are the parts readers of the log use. A field that would be null is left
 * out: the record is written inside the branch transactions, and every byte of it is written to the
 * redo log three times per clean saga (the insert, the final update and its undo).
 */
export interface ProgressRecord {
  readonly results: Readonly<Record<string, unknown>>;
  readonly steps: Readonly<Record<string, StepRecord>>;
  /** When the step waiting in backoff is due (epoch ms). */
  readonly nextAttemptAt?: number | null;
  /** The failure that made the saga compensate (a business failure or the timeout). */
  readonly error?: ErrorInfo | null;
  readonly lastError?: ErrorInfo | null;
}

/** What the coordinator writes each time a saga moves. */
export interface SagaMove {
  readonly status: SagaStatus;
  /** The machine's state as a dotted path, e.g. `userSaved.waiting`. */
  readonly state: string;
  readonly progress: ProgressRecord;
  /** The saga's timeline (every attempt), once there is more to it than clean successes; else null. */
  readonly detail: unknown;
  /** The input as it is kept from this move on (a final move drops the secrets it carried); else unchanged. */
  readonly rewrittenInput?: unknown;
}

/** Attempts of the step under way (forward or compensation), and when it is due again. */
export function stepUnderWay(progress: ProgressRecord): { attempts: number; nextAttemptAt: Date | null } {
  const running = Object.values(progress.steps ?? {}).find(
    (step) => step.status === 'running' || step.status === 'waiting',
  );
  return {
    attempts: running?.attempts ?? 0,
    nextAttemptAt: progress.nextAttemptAt == null ? null : new Date(progress.nextAttemptAt),
  };
}

export interface NewSaga extends SagaMove {
  readonly gid: string;
  readonly type: string;
  readonly machineVersion: number;
  readonly input: unknown;
  readonly requestFingerprint: string | null;
  /** The business key an operator searches by (register: the user id); null when the type has none. */
  readonly subject: string | null;
  /**
   * The W3C `traceparent` of the trace the saga was begun in (null without tracing): whoever resumes the
   * saga links its spans to it.
   */
  readonly traceContext: string | null;
  readonly owner: string;
  readonly leaseMs: number;
}

/**
 * Who may write a saga's row: its owner at one claim. Every claim takes a new, larger generation, so a
 * process that lost the saga and claimed it back cannot write with what it held before (a fencing token).
 */
export interface Lease {
  readonly owner: string;
  readonly generation: number;
}

/** A saga type and version a process can run; it claims no other. */
export interface RunnableType {
  readonly type: string;
  readonly version: number;
}

export interface SagaRecord extends SagaMove {
  readonly gid: string;
  readonly type: string;
  readonly machineVersion: number;
  readonly input: unknown;
  readonly requestFingerprint: string | null;
  readonly subject: string | null;
  readonly traceContext: string | null;
  readonly owner: string | null;
  /** Raised by every claim; writes carry the generation they were claimed with. */
  readonly leaseGeneration: number;
  readonly leaseExpiresAt: Date | null;
  /** When the saga became final; null while it runs. */
  readonly finishedAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A saga taken over from the log, and whose it was: null when its owner released it (a graceful stop). */
export interface ClaimedSaga extends SagaRecord {
  readonly claimedFrom: string | null;
}

/** Sagas of one type that ended with one status, counted since the last report. */
export interface FinishedCount {
  readonly type: string;
  readonly status: 'succeeded' | 'aborted';
  readonly count: number;
}

/** A write refused because the saga's lease (owner and generation) is no longer the writer's. */
export class LeaseLost extends Error {
  constructor(readonly gid: string) {
    super(`the lease of saga ${gid} is no longer this process's`);
  }
}

/** The generation of a saga's first lease, taken by the process that creates it. */
export const FIRST_GENERATION = 1;

/**
 * The coordinator's durable log. Every write that changes a running saga is fenced by its lease (owner
 * and generation): a process that lost its lease cannot overwrite the process that took the saga over,
 * nor, once it claimed the saga back, write what its old actor computed.
 */
export interface SagaLog {
  /** Inserts a saga leased to `owner` (generation 1); `exists` when the gid is taken (an idempotent replay). */
  create(saga: NewSaga): Promise<'created' | 'exists'>;
  /** Writes a move if `lease` is still the saga's; false when it is not. */
  save(gid: string, lease: Lease, move: SagaMove): Promise<boolean>;
  /**
   * The same two writes inside a branch's local transaction (`transaction` is what the branch's barrier
   * hands its riders), so the saga's move commits or rolls back with the branch: the saga log riding in
   * the branch transactions. `saveWithin` throws LeaseLost when the lease is gone, rolling the branch back.
   */
  createWithin(transaction: unknown, saga: NewSaga): Promise<void>;
  saveWithin(transaction: unknown, gid: string, lease: Lease, move: SagaMove): Promise<void>;
  get(gid: string): Promise<SagaRecord | undefined>;
  /** Extends the lease of every active saga `owner` holds; returns how many it still holds. */
  renewLeases(owner: string, leaseMs: number): Promise<number>;
  /**
   * Takes over up to `limit` active sagas of the `runnable` types whose lease has run out (their owner
   * died or let go), each with a new lease generation. Sagas of other types or versions are left for a
   * process that can run them.
   */
  claimExpired(
    owner: string,
    leaseMs: number,
    limit: number,
    runnable: readonly RunnableType[],
  ): Promise<ClaimedSaga[]>;
  /** Lets go of the active sagas `owner` holds (all, or those among `gids`), so another process can take them at once. */
  release(owner: string, gids?: readonly string[]): Promise<number>;
  /** Adds sagas `owner` finished to the count of the current minute (the dashboard's throughput). */
  countFinished(owner: string, counts: readonly FinishedCount[]): Promise<void>;
  /** Active sagas `owner` holds, among `gids` (to learn which ones it lost). */
  stillOwned(owner: string, gids: readonly string[]): Promise<Set<string>>;
}
