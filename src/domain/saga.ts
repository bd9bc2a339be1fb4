import type { ErrorInfo } from './errors.js';

export const sagaStatuses = ['pending', 'compensating', 'succeeded', 'aborted'] as const;
export type SagaStatus = (typeof sagaStatuses)[number];
export const activeSagaStatuses = ['pending', 'compensating'] as const satisfies readonly SagaStatus[];

export function isFinalStatus(status: SagaStatus): boolean {
  return status === 'succeeded' || status === 'aborted';
}

/** What the coordinator writes each time a saga moves: everything a reader or a recovering process needs. */
export interface SagaProgress {
  readonly status: SagaStatus;
  /** The machine's state as a dotted path, e.g. `userSaved.waiting`. */
  readonly state: string;
  /** XState's `getPersistedSnapshot()`: plain JSON the actor is restored from. */
  readonly snapshot: unknown;
  readonly results: Readonly<Record<string, unknown>>;
  /** Attempts of the step under way (forward or compensation). */
  readonly attempts: number;
  readonly nextAttemptAt: Date | null;
  readonly lastError: ErrorInfo | null;
  /** The failure that made the saga compensate (a business failure or the timeout); null otherwise. */
  readonly error: ErrorInfo | null;
}

export interface NewSaga extends SagaProgress {
  readonly gid: string;
  readonly type: string;
  readonly machineVersion: number;
  readonly input: unknown;
  readonly requestFingerprint: string | null;
  /** The business key an operator searches by (register: the user id); null when the type has none. */
  readonly subject: string | null;
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

export interface SagaRecord extends SagaProgress {
  readonly gid: string;
  readonly type: string;
  readonly machineVersion: number;
  readonly input: unknown;
  readonly requestFingerprint: string | null;
  readonly subject: string | null;
  readonly owner: string | null;
  /** Raised by every claim; writes carry the generation they were claimed with. */
  readonly leaseGeneration: number;
  readonly leaseExpiresAt: Date | null;
  /** When the saga became final; null while it runs. */
  readonly finishedAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
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
  /** Writes progress if `lease` is still the saga's; false when it is not. */
  save(gid: string, lease: Lease, progress: SagaProgress): Promise<boolean>;
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
  ): Promise<SagaRecord[]>;
  /** Lets go of the active sagas `owner` holds (all, or those among `gids`), so another process can take them at once. */
  release(owner: string, gids?: readonly string[]): Promise<number>;
  /** Active sagas `owner` holds, among `gids` (to learn which ones it lost). */
  stillOwned(owner: string, gids: readonly string[]): Promise<Set<string>>;
}
