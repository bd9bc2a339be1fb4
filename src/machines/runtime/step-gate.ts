import type { SagaOp } from '../../domain/branch.js';
import { aborted, type Deferred, deferred } from './deferred.js';
import type { LeaseKeeper } from './lease-keeper.js';
import type { RunningSaga } from './running-saga.js';

export interface StepCallInfo {
  readonly step: string;
  readonly op: SagaOp;
  /** The saga's log rides in this step's transaction. */
  readonly rides: boolean;
}

/**
 * What a step passes before it calls its branch, and the count of calls under way for a graceful stop.
 * A call goes through only while:
 * - its saga is still worked here, by the object that made the call (a saga claimed back after a
 *   partition is a new RunningSaga; the old actor's calls never pass);
 * - when the step's transaction carries the saga's move, once the saga's own writes are done (so the
 *   rider knows whether the row exists, and no two writes of one saga overlap);
 * - otherwise, for a compensation, once the decision to compensate is in the log (a restart replays
 *   from the log, so a decision not durable could be reversed after a compensation ran); a compensation
 *   that rides carries the decision in its own transaction, atomically with its effect;
 * - this process holds its leases (see LeaseKeeper) and is not draining.
 */
export class StepGate {
  private inFlight = 0;
  private draining = false;
  private idle: Deferred<void> | undefined;

  constructor(
    private readonly lease: LeaseKeeper,
    /** Told how each call that went through ended, by saga type (metrics). */
    private readonly observe?: (
      type: string,
      step: string,
      op: SagaOp,
      durationMs: number,
      ok: boolean,
    ) => void,
  ) {}

  async pass<T>(
    saga: RunningSaga,
    info: StepCallInfo,
    signal: AbortSignal,
    call: () => Promise<T>,
  ): Promise<T> {
    if (info.rides) await Promise.race([saga.writer.flush(), aborted(signal)]);
    else if (info.op !== 'action') await saga.decisionWritten(signal);
    await this.lease.waitValid(signal);
    // A call that may not go through waits for its actor to stop, which cancels it.
    if (this.draining || !saga.current) await aborted(signal);
    this.inFlight++;
    const started = performance.now();
    let ok = false;
    try {
      const result = await call();
      ok = true;
      return result;
    } finally {
      this.inFlight--;
      this.observe?.(saga.type, info.step, info.op, performance.now() - started, ok);
      if (this.inFlight === 0) this.idle?.resolve();
    }
  }

  /** No new calls from now on; resolves when the calls under way are done, or after `graceMs`. */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    if (this.inFlight === 0) return;
    this.idle = deferred();
    const timer = setTimeout(() => this.idle?.resolve(), graceMs);
    await this.idle.promise;
    clearTimeout(timer);
  }
}
