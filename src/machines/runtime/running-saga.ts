import type { Actor, AnyStateMachine } from 'xstate';
import type { ErrorInfo } from '../../domain/errors.js';
import type { Lease, NewSaga, SagaMove, SagaRecord } from '../../domain/saga.js';
import { aborted, type Deferred, deferred } from './deferred.js';
import type { ProgressWriter } from './progress-writer.js';
import { moveOf } from './saga-progress.js';
import type { SagaTrace } from './saga-tracing.js';

export type SagaResult =
  | {
      readonly status: 'succeeded';
      readonly gid: string;
      readonly results: Readonly<Record<string, unknown>>;
    }
  | { readonly status: 'aborted'; readonly gid: string; readonly error: ErrorInfo | null }
  /** This process stopped working the saga (lease lost or shutting down); it goes on elsewhere. */
  | { readonly status: 'released'; readonly gid: string };

/** One error for every forgotten saga: an Error per saga costs a stack capture each (bench/NOTES.md). */
const NO_LONGER_HERE = new Error('saga is no longer running here');

/**
 * One saga this process works: its actor, the lease it writes under, and the writer that keeps its row.
 * Once ended (final, lost or released), it is never worked again: a later claim of the same saga gets a
 * new RunningSaga, resumed from the record, with the new lease.
 */
export class RunningSaga {
  readonly startedAt = Date.now();
  readonly done: Deferred<SagaResult> = deferred();
  /** The decision to compensate is in the log: no compensation runs before that. */
  private decisionDurable: boolean;
  /** Made only when a compensation has to wait for that write (most sagas never compensate). */
  private decisionWaiters: Deferred<void> | undefined;
  private ended = false;
  private unsubscribe: () => void = () => {};
  /** A move a step's transaction carried (the log riding in it), until the actor makes it too. */
  private riding: SagaMove | undefined;
  private carried: SagaMove | undefined;
  /** The saga's next move must be written on its own: the step that makes it did not carry it. */
  uncarried = false;

  constructor(
    readonly gid: string,
    readonly type: string,
    readonly lease: Lease,
    readonly actor: Actor<AnyStateMachine>,
    readonly writer: ProgressWriter,
    decided: boolean,
    /** The saga's row is in the log (false until its first write: a create that rides the first branch). */
    public rowExists: boolean,
    /** What its row's first write needs besides the move. */
    readonly creation: Omit<NewSaga, keyof SagaMove>,
    /** Its span, and its steps' (tracing off: a no-op). */
    readonly trace: SagaTrace,
  ) {
    this.decisionDurable = decided;
  }

  /**
   * The saga as the log would record it: for a saga whose row does not exist yet (its first step rides
   * and has not committed), the only account of it there is.
   */
  asRecord(): SagaRecord {
    const { leaseMs: _leaseMs, ...creation } = this.creation;
    return {
      ...creation,
      ...moveOf(this.actor.getSnapshot()),
      owner: this.lease.owner,
      leaseGeneration: this.lease.generation,
      leaseExpiresAt: null,
      finishedAt: null,
      createdAt: new Date(this.startedAt),
      updatedAt: new Date(),
    };
  }

  /** A step's transaction is writing `move` with the branch; it counts once the branch commits. */
  ride(move: SagaMove): void {
    this.riding = move;
  }

  /**
   * The branch committed: its move is in the log, and the row with it. False when the branch did not
   * take the move (its call never ran the rider): the move must then be written on its own.
   */
  rideCommitted(): boolean {
    if (this.riding === undefined) return false;
    this.carried = this.riding;
    this.riding = undefined;
    this.rowExists = true;
    return true;
  }

  rideAbandoned(): void {
    this.riding = undefined;
  }

  /** The committed move the actor has now made, if `state` is where the ride took it. */
  takeCarried(state: string): SagaMove | undefined {
    if (this.carried?.state !== state) return undefined;
    const move = this.carried;
    this.carried = undefined;
    return move;
  }

  /** Whether this process still works the saga through this object. */
  get current(): boolean {
    return !this.ended;
  }

  onEnd(unsubscribe: () => void): void {
    this.unsubscribe = unsubscribe;
  }

  /** Resolves once the decision to compensate is in the log (at once if it already is). */
  async decisionWritten(signal: AbortSignal): Promise<void> {
    if (this.decisionDurable) return;
    this.decisionWaiters ??= deferred();
    await Promise.race([this.decisionWaiters.promise, aborted(signal)]);
  }

  markDecisionDurable(): void {
    if (this.decisionDurable) return;
    this.decisionDurable = true;
    this.decisionWaiters?.resolve();
  }

  /** Stops working the saga here. The writer closes before the actor stops: see SagaCoordinator.stop. */
  end(result: SagaResult): void {
    if (this.ended) return;
    this.ended = true;
    this.unsubscribe();
    this.writer.close();
    this.actor.stop();
    this.trace.end(result);
    this.done.resolve(result);
    this.decisionWaiters?.reject(NO_LONGER_HERE);
  }
}

/** What a resumed saga's row writes need besides the move: the record's own, under the new lease. */
export function creationOf(
  record: SagaRecord,
  owner: string,
  leaseMs: number,
): Omit<NewSaga, keyof SagaMove> {
  return {
    gid: record.gid,
    type: record.type,
    machineVersion: record.machineVersion,
    input: record.input,
    requestFingerprint: record.requestFingerprint,
    subject: record.subject,
    // The row keeps the trace the saga was begun in; every resume links back to it.
    traceContext: record.traceContext,
    owner,
    leaseMs,
  };
}
