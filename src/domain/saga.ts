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

export interface SagaRecord extends SagaProgress {
  readonly gid: string;
  readonly type: string;
  readonly machineVersion: number;
  readonly input: unknown;
  readonly requestFingerprint: string | null;
  readonly subject: string | null;
  readonly owner: string | null;
  readonly leaseExpiresAt: Date | null;
  /** When the saga became final; null while it runs. */
  readonly finishedAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/**
 * The coordinator's durable log. Every write that changes a running saga is fenced by its owner: a
 * process that lost its lease cannot overwrite the process that took the saga over.
 */
export interface SagaLog {
  /** Inserts a saga already owned by `owner`; `exists` when the gid is taken (an idempotent replay). */
  create(saga: NewSaga): Promise<'created' | 'exists'>;
  /** Writes progress if `owner` still owns the saga; false when it no longer does. */
  save(gid: string, owner: string, progress: SagaProgress): Promise<boolean>;
  get(gid: string): Promise<SagaRecord | undefined>;
  /** Extends the lease of every active saga `owner` holds; returns how many it still holds. */
  renewLeases(owner: string, leaseMs: number): Promise<number>;
  /** Takes over up to `limit` active sagas whose lease has run out (their owner died or let go). */
  claimExpired(owner: string, leaseMs: number, limit: number): Promise<SagaRecord[]>;
  /** Lets go of every active saga `owner` holds, so another process can take them at once. */
  release(owner: string): Promise<number>;
  /** Active sagas `owner` holds, among `gids` (to learn which ones it lost). */
  stillOwned(owner: string, gids: readonly string[]): Promise<Set<string>>;
}
