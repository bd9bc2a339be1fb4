import { type Actor, type AnyStateMachine, createActor, type InspectionEvent } from 'xstate';
import {
  isFinalStatus,
  type Lease,
  type SagaLog,
  type SagaProgress,
  type SagaRecord,
} from '../../domain/saga.js';
import type { RetryPolicy } from '../backoff.js';
import { type SagaContext, type StepFailed, withRetryPolicy } from '../saga-context.js';
import type { AnySagaType } from '../saga-type.js';
import type { SagaSystem } from './bind-steps.js';
import { ProgressWriter } from './progress-writer.js';
import { RunningSaga, type SagaResult } from './running-saga.js';
import type { RuntimeLogger } from './runtime-log.js';
import { needsWriteNow, progressOf } from './saga-progress.js';
import { logStepFailure, type StepFailureNotice, stepFailureNotice } from './step-failures.js';
import type { StepCallInfo, StepGate } from './step-gate.js';

/** What the runtime reports as sagas live; metrics hang off it. */
export interface SagaObserver {
  started?(type: string, gid: string, resumed: boolean): void;
  finished?(type: string, gid: string, status: 'succeeded' | 'aborted', durationMs: number): void;
  stepFailed?(notice: StepFailureNotice): void;
  stepCall?(type: string, step: string, op: StepCallInfo['op'], durationMs: number, ok: boolean): void;
  takeover?(type: string, gid: string): void;
}

/** A saga type as this process runs it: its machine with the steps bound to this process's services. */
export interface DefinedType {
  readonly sagaType: AnySagaType;
  readonly machine: AnyStateMachine;
}

export interface RunnerOptions {
  readonly log: SagaLog;
  readonly gate: StepGate;
  readonly policy: RetryPolicy;
  readonly alertRetryLimit: number;
  readonly logger: RuntimeLogger;
  readonly observer?: SagaObserver;
  readonly inspect?: (event: InspectionEvent) => void;
}

/** How long a deferred move may stay unwritten (see needsWriteNow). */
export const CHECKPOINT_MS = 1_000;

/**
 * The sagas this process works, each under its lease: starts their actors (new or resumed from the log),
 * has every move written by the saga's ProgressWriter, and ends them when they are final, lost, or
 * released. A step finds its saga by its actor system, never by gid (which a newer claim shares).
 */
export class SagaRunner {
  private readonly sagas = new Map<string, RunningSaga>();
  /** Each saga actor is the root of its own actor system. */
  private readonly bySystem = new WeakMap<SagaSystem, RunningSaga>();

  constructor(private readonly options: RunnerOptions) {}

  get size(): number {
    return this.sagas.size;
  }

  get(gid: string): RunningSaga | undefined {
    return this.sagas.get(gid);
  }

  all(): RunningSaga[] {
    return [...this.sagas.values()];
  }

  /** An actor of the type's machine: new from `input`, or restored from a persisted `snapshot`. */
  actorOf(
    defined: DefinedType,
    gid: string,
    from: { readonly input: unknown } | { readonly snapshot: unknown },
  ): Actor<AnyStateMachine> {
    return createActor(defined.machine, {
      id: `${defined.sagaType.type}:${gid}`,
      ...from,
      ...(this.options.inspect ? { inspect: this.options.inspect } : {}),
    } as Parameters<typeof createActor<AnyStateMachine>>[1]);
  }

  /** Starts working a saga whose row is in the log under `lease`. */
  run(
    type: string,
    actor: Actor<AnyStateMachine>,
    lease: Lease,
    resumed: boolean,
    decided = false,
  ): RunningSaga {
    const gid = (actor.getSnapshot().context as SagaContext<unknown>).gid;
    const writer = new ProgressWriter(
      gid,
      lease,
      this.options.log,
      () => progressOf(actor.getSnapshot(), actor.getPersistedSnapshot()),
      (progress) => this.onWritten(saga, progress),
      () => this.lost(saga),
      this.options.logger,
    );
    const saga = new RunningSaga(gid, type, lease, actor, writer, decided);
    const subscription = actor.subscribe({
      next: (snapshot) => {
        if (needsWriteNow(snapshot)) writer.markDirty();
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
    this.options.observer?.started?.(type, gid, resumed);
    actor.start();
    return saga;
  }

  /**
   * Works a saga claimed from the log. Whatever this process still held of it is stale (it lost the
   * lease, maybe to a process that moved the saga on, then claimed it back): that actor is dropped and
   * the saga resumes from the record, under the new lease.
   */
  resume(defined: DefinedType, record: SagaRecord, lease: Lease, reason: 'takeover' | 'adopted'): void {
    const stale = this.sagas.get(record.gid);
    if (stale) {
      this.options.logger.warn(
        { gid: record.gid, type: record.type, generation: stale.lease.generation, claimed: lease.generation },
        'claimed back a saga this process still held; dropping its old actor and resuming from the log',
      );
      this.end(stale, { status: 'released', gid: record.gid });
    }
    const actor = this.actorOf(defined, record.gid, {
      snapshot: withRetryPolicy(record.snapshot, this.options.policy),
    });
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
    if (reason === 'takeover') this.options.observer?.takeover?.(record.type, record.gid);
    this.run(record.type, actor, lease, true, record.status === 'compensating');
  }

  /** A step's branch call, through the gate of the saga that makes it. */
  callStep<T>(
    system: SagaSystem,
    info: StepCallInfo,
    signal: AbortSignal,
    call: () => Promise<T>,
  ): Promise<T> {
    const saga = this.bySystem.get(system);
    if (!saga) return Promise.reject(new Error(`no saga runs ${info.step} here`));
    return this.options.gate.pass(saga, info, signal, call);
  }

  /** Stops working a saga here (final, lost, or released to another process). */
  end(saga: RunningSaga, result: SagaResult): void {
    saga.end(result);
    if (this.sagas.get(saga.gid) === saga) this.sagas.delete(saga.gid);
  }

  /** The saga's lease is gone: another process works it now. */
  lost(saga: RunningSaga): void {
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

  private onWritten(saga: RunningSaga, progress: SagaProgress): void {
    if (progress.status !== 'pending') saga.markDecisionDurable();
    if (!isFinalStatus(progress.status)) return;
    const context = saga.actor.getSnapshot().context as SagaContext<unknown>;
    const result: SagaResult =
      progress.status === 'succeeded'
        ? { status: 'succeeded', gid: saga.gid, results: context.results }
        : { status: 'aborted', gid: saga.gid, error: context.error };
    const durationMs = Date.now() - saga.startedAt;
    this.options.observer?.finished?.(
      saga.type,
      saga.gid,
      result.status as 'succeeded' | 'aborted',
      durationMs,
    );
    if (result.status === 'aborted') {
      this.options.logger.info(
        { gid: saga.gid, type: saga.type, error: context.error, durationMs },
        'saga aborted',
      );
    } else {
      this.options.logger.debug({ gid: saga.gid, type: saga.type, durationMs }, 'saga succeeded');
    }
    this.end(saga, result);
  }
}
