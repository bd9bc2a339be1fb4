import type { Actor, AnyStateMachine, InspectionEvent } from 'xstate';
import {
  isFinalStatus,
  type Lease,
  type NewSaga,
  type SagaLog,
  type SagaMove,
  type SagaRecord,
} from '../../domain/saga.js';
import type { RetryPolicy } from '../backoff.js';
import type { SagaContext, StepDone, StepFailed } from '../saga-context.js';
import type { SagaSystem } from './bind-steps.js';
import { type DefinedType, forgetting, sagaActor } from './defined-type.js';
import type { FinishedCounts } from './finished-counts.js';
import { ProgressWriter } from './progress-writer.js';
import { creationOf, RunningSaga, type SagaResult } from './running-saga.js';
import type { RuntimeLogger } from './runtime-log.js';
import type { SagaObserver } from './saga-observer.js';
import { moveOf, needsWriteNow, snapshotOf, stateName } from './saga-progress.js';
import type { ResumeReason, SagaTrace, SagaTracing } from './saga-tracing.js';
import { StepCalls } from './step-calls.js';
import { logStepFailure, stepFailureNotice } from './step-failures.js';
import type { StepGate } from './step-gate.js';

export type { DefinedType } from './defined-type.js';
export type { SagaObserver } from './saga-observer.js';

export interface RunnerOptions {
  readonly log: SagaLog;
  readonly leaseMs: number;
  readonly gate: StepGate;
  readonly policy: RetryPolicy;
  readonly alertRetryLimit: number;
  readonly logger: RuntimeLogger;
  readonly finishedCounts: FinishedCounts;
  readonly observer?: SagaObserver;
  readonly inspect?: (event: InspectionEvent) => void;
  /** Spans for sagas and their steps (noSagaTracing when tracing is off). */
  readonly tracing: SagaTracing;
}

/** How long a deferred move may stay unwritten (see needsWriteNow). */
export const CHECKPOINT_MS = 1_000;

/**
 * The sagas this process works, each under its lease: starts their actors (new or resumed from the log)
 * and keeps their rows written. A move is written in one of two ways:
 * - riding: in the transaction of the step that made it, when the step's service runs here on the log's
 *   database (the row is created by the first such step, with its effect); the actor makes the move
 *   once the step commits;
 * - by the saga's ProgressWriter, in a statement of its own: every move no step carries (a failure with
 *   its backoff, and every move of a saga whose services are remote).
 * A step finds its saga by its actor system, never by gid (which a newer claim shares).
 */
export class SagaRunner {
  private readonly sagas = new Map<string, RunningSaga>();
  /** Each saga actor is the root of its own actor system. */
  private readonly bySystem = new WeakMap<SagaSystem, RunningSaga>();

  private readonly steps: StepCalls;

  constructor(private readonly options: RunnerOptions) {
    this.steps = new StepCalls({
      log: options.log,
      gate: options.gate,
      logger: options.logger,
      sagaOf: (system) => this.bySystem.get(system),
      lost: (saga) => this.lost(saga),
    });
  }

  get size(): number {
    return this.sagas.size;
  }

  /** Sagas with a row in the log (a saga whose first step has not committed yet has none). */
  get logged(): number {
    let count = 0;
    for (const saga of this.sagas.values()) if (saga.rowExists) count++;
    return count;
  }

  get(gid: string): RunningSaga | undefined {
    return this.sagas.get(gid);
  }

  all(): RunningSaga[] {
    return [...this.sagas.values()];
  }

  /** Starts working a saga under `lease`; its row is in the log already, or its first write creates it. */
  run(
    defined: DefinedType,
    actor: Actor<AnyStateMachine>,
    lease: Lease,
    creation: Omit<NewSaga, keyof SagaMove>,
    from: {
      /** Resumed from the log (a takeover or an adoption), not begun here. */
      readonly resumed: boolean;
      /** The log already says it compensates. */
      readonly decided: boolean;
      readonly rowExists: boolean;
      readonly trace: SagaTrace;
    },
  ): RunningSaga {
    const type = defined.sagaType.type;
    const gid = creation.gid;
    const writer: ProgressWriter = new ProgressWriter(
      gid,
      (move): Promise<boolean> => this.write(saga, move),
      () => forgetting(defined, moveOf(actor.getSnapshot()), creation.input),
      (move) => this.settled(saga, move),
      () => this.lost(saga),
      this.options.logger,
    );
    const saga: RunningSaga = new RunningSaga(
      gid,
      type,
      lease,
      actor,
      writer,
      from.decided,
      from.rowExists,
      creation,
      from.trace,
    );
    const subscription = actor.subscribe({
      next: (snapshot) => {
        const state = stateName(snapshot.value);
        const carried = saga.takeCarried(state);
        if (carried) this.settled(saga, carried);
        else if (saga.uncarried) {
          saga.uncarried = false;
          writer.markDirty();
        }
        // The step this state calls will carry the move in its own transaction.
        else if (defined.riding.has(defined.callingStates.get(state) ?? '')) return;
        else if (needsWriteNow(snapshot)) writer.markDirty();
        else writer.markDeferred(Date.now());
      },
      error: (error) => this.options.logger.error({ err: error, gid, type }, 'saga actor failed'),
    });
    const failures = actor.on('stepFailed', (event) => {
      const notice = stepFailureNotice(type, event as StepFailed, this.options.alertRetryLimit);
      this.options.observer?.stepFailed?.(notice);
      logStepFailure(this.options.logger, notice);
    });
    saga.onEnd(() => {
      subscription.unsubscribe();
      failures.unsubscribe();
    });
    this.sagas.set(gid, saga);
    this.bySystem.set(actor.system, saga);
    this.options.observer?.started?.(type, gid, from.resumed);
    // Started with the saga's span active: its steps, timers and log writes are that trace's.
    from.trace.within(() => actor.start());
    return saga;
  }

  /**
   * Works a saga claimed from the log. Whatever this process still held of it is stale (it lost the
   * lease, maybe to a process that moved the saga on, then claimed it back): that actor is dropped and
   * the saga resumes from the record, under the new lease, its step state entered again.
   */
  resume(defined: DefinedType, record: SagaRecord, lease: Lease, reason: ResumeReason): void {
    const stale = this.sagas.get(record.gid);
    if (stale) {
      this.options.logger.warn(
        { gid: record.gid, type: record.type, generation: stale.lease.generation, claimed: lease.generation },
        'claimed back a saga this process still held; dropping its old actor and resuming from the log',
      );
      this.end(stale, { status: 'released', gid: record.gid });
    }
    const snapshot = snapshotOf(defined.machine, record, this.options.policy);
    const actor = sagaActor(defined, record.gid, { snapshot }, this.options.inspect);
    this.options.logger.info(
      {
        gid: record.gid,
        type: record.type,
        state: record.state,
        status: record.status,
        reason,
        generation: lease.generation,
        // By the database's clock: two claims of one saga must be a whole lease apart (checked in tests).
        leaseExpiresAt: record.leaseExpiresAt,
      },
      'resuming saga',
    );
    // Taken from the log after its lease ran out or was let go (the metric counts both).
    if (reason !== 'retry') this.options.observer?.takeover?.(record.type, record.gid);
    const creation = creationOf(record, lease.owner, this.options.leaseMs);
    const trace = this.options.tracing.resume(record.type, record.gid, record.traceContext, reason);
    this.run(defined, actor, lease, creation, {
      resumed: true,
      decided: record.status === 'compensating',
      rowExists: true,
      trace,
    });
    trace.within(() => actor.send({ type: 'RESUME' }));
  }

  /** A step's branch call, through the gate of the saga that makes it (step-calls.ts). */
  callStep(...args: Parameters<StepCalls['call']>): Promise<StepDone> {
    return this.steps.call(...args);
  }

  /** Stops working a saga here (final, lost, or released to another process). */
  end(saga: RunningSaga, result: SagaResult): void {
    saga.end(result);
    if (this.sagas.get(saga.gid) === saga) this.sagas.delete(saga.gid);
  }

  /** The saga's lease is gone: another process works it now. */
  lost(saga: RunningSaga): void {
    if (!saga.current) return;
    this.options.logger.warn(
      { gid: saga.gid, type: saga.type, owner: saga.lease.owner, generation: saga.lease.generation },
      'saga lease lost; stopped working it',
    );
    this.end(saga, { status: 'released', gid: saga.gid });
  }

  /** Writes the deferred moves of sagas that have been running a while, so the log shows where they are. */
  checkpoint(before = Date.now() - CHECKPOINT_MS): void {
    for (const saga of this.sagas.values()) saga.writer.checkpoint(before);
  }

  /** A write in a statement of its own: the row's first write creates it. */
  private async write(saga: RunningSaga, move: SagaMove): Promise<boolean> {
    if (!saga.rowExists) {
      const created = await this.options.log.create({ ...saga.creation, ...move });
      saga.rowExists = true;
      // A create whose earlier answer was lost may have committed: the row is ours, so update it.
      if (created === 'created') return true;
    }
    return this.options.log.save(saga.gid, saga.lease, move);
  }

  /** A move is in the log: the decision to compensate is durable; a final saga is done here. */
  private settled(saga: RunningSaga, move: SagaMove): void {
    if (move.status !== 'pending') saga.markDecisionDurable();
    if (!isFinalStatus(move.status)) return;
    const context = saga.actor.getSnapshot().context as SagaContext<unknown>;
    const status = move.status as 'succeeded' | 'aborted';
    const result: SagaResult =
      status === 'succeeded'
        ? { status, gid: saga.gid, results: context.results }
        : { status, gid: saga.gid, error: context.error };
    const fields = { gid: saga.gid, type: saga.type, durationMs: Date.now() - saga.startedAt };
    this.options.finishedCounts.add(saga.type, status);
    this.options.observer?.finished?.(saga.type, saga.gid, status, fields.durationMs);
    if (status === 'aborted') this.options.logger.info({ ...fields, error: context.error }, 'saga aborted');
    else this.options.logger.debug(fields, 'saga succeeded');
    this.end(saga, result);
  }
}
