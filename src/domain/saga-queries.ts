import type { ErrorInfo } from './errors.js';
import type { SagaStatus } from './saga.js';

/** A position in the newest-first order of sagas: the last saga of a page. */
export interface SagaPosition {
  readonly createdAt: Date;
  readonly gid: string;
}

export interface SagaListFilter {
  readonly status?: SagaStatus | undefined;
  readonly type?: string | undefined;
  /** Only sagas created at or after this instant. */
  readonly since?: Date | undefined;
  /** A gid (exact) or a subject (exact, e.g. a user id). */
  readonly q?: string | undefined;
  /** Sagas strictly after this position (older, or as old with a smaller gid). */
  readonly after?: SagaPosition | undefined;
  readonly limit: number;
}

/** One line of a listing: what an operator scans, without the snapshot or the input. */
export interface SagaSummary {
  readonly gid: string;
  readonly type: string;
  readonly status: SagaStatus;
  readonly state: string;
  readonly subject: string | null;
  readonly attempts: number;
  readonly nextAttemptAt: Date | null;
  readonly error: ErrorInfo | null;
  readonly lastError: ErrorInfo | null;
  readonly owner: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly finishedAt: Date | null;
}

export interface SagaPage {
  readonly sagas: SagaSummary[];
  /** Where the next page starts; null on the last page. */
  readonly next: SagaPosition | null;
}

export interface SagaCount {
  readonly status: SagaStatus;
  readonly type: string;
  readonly count: number;
}

/** Finished sagas of one minute of the window. */
export interface ThroughputBucket {
  /** The minute's start. */
  readonly minute: Date;
  readonly succeeded: number;
  readonly aborted: number;
}

export interface SagaStats {
  /** The database clock when the stats were read: ages and windows are relative to it. */
  readonly now: Date;
  readonly counts: SagaCount[];
  /** The oldest saga still pending or compensating. */
  readonly oldestActive: {
    readonly gid: string;
    readonly type: string;
    readonly status: SagaStatus;
    readonly state: string;
    readonly createdAt: Date;
  } | null;
  /** One bucket per minute, oldest first, the last one being the current (partial) minute. */
  readonly throughput: ThroughputBucket[];
}

/** Sagas not final yet, oldest first. */
export interface UnfinishedSagas {
  /** The database clock when they were read: ages are relative to it. */
  readonly now: Date;
  readonly sagas: ReadonlyArray<{ readonly gid: string; readonly createdAt: Date }>;
}

/**
 * Read-only views over the saga log, for operators (admin API, dashboard) and the barrier pruner. Every
 * query is indexed.
 */
export interface SagaQueries {
  list(filter: SagaListFilter): Promise<SagaPage>;
  stats(windowMinutes: number): Promise<SagaStats>;
  /**
   * The sagas still pending or compensating that were created more than `olderThanMs` ago by the
   * database's clock, oldest first, at most `limit`: the barrier pruner keeps their rows.
   */
  unfinishedOlderThan(olderThanMs: number, limit: number): Promise<UnfinishedSagas>;
  /**
   * The newest saga of `type` about `subject` created no later than `notAfter`. For a user row: the
   * registration that created it (a later saga for the same id was created after the row, to be refused
   * as a duplicate). Undefined when there is none (or its row was removed by SAGA_RETENTION).
   */
  latestForSubject(type: string, subject: string, notAfter: Date): Promise<SagaSummary | undefined>;
}
