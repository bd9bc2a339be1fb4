import { hostname } from 'node:os';
import {
  type Actor,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  createActor,
  type InspectionEvent,
} from 'xstate';
import type { BranchOp } from '../../domain/branch.js';
import { type ErrorInfo, TransientFailure } from '../../domain/errors.js';
import {
  isFinalStatus,
  type NewSaga,
  type SagaLog,
  type SagaProgress,
  type SagaRecord,
} from '../../domain/saga.js';
import type { RetryPolicy } from '../backoff.js';
import type { SagaContext, SagaDefinition } from '../saga-definition.js';
import {
  buildSagaMachine,
  restoreSagaActor,
  type SagaMachine,
  type StepCallInfo,
  type StepFailureNotice,
  stateName,
} from '../saga-machine.js';
import { aborted, type Deferred, deferred } from './deferred.js';
import { LeaseKeeper } from './lease-keeper.js';
import { ProgressWriter } from './progress-writer.js';
import { type RuntimeLogger, silentLogger } from './runtime-log.js';

export type SagaResult =
  | {
      readonly status: 'succeeded';
      readonly gid: string;
      readonly results: Readonly<Record<string, unknown>>;
    }
  | { readonly status: 'aborted'; readonly gid: string; readonly error: ErrorInfo | null }
  /** This process stopped working the saga (lease lost or shutting down); it goes on elsewhere. */
  | { readonly status: 'released'; readonly gid: string };

/** What the runtime reports as sagas live; metrics and the inspector hang off it. */
export interface SagaObserver {
  started?(type: string, gid: string, resumed: boolean): void;
  finished?(type: string, gid: string, status: 'succeeded' | 'aborted', durationMs: number): void;
  stepFailed?(notice: StepFailureNotice): void;
  stepCall?(type: string, step: string, op: BranchOp, durationMs: number, ok: boolean): void;
  takeover?(type: string, gid: string): void;
}

export interface CoordinatorOptions {
  readonly log: SagaLog;
  readonly leaseMs: number;
  readonly recoveryIntervalMs: number;
  readonly timeoutMs: number;
  readonly policy: RetryPolicy;
  readonly alertRetryLimit: number;
  /** Defaults to `<hostname>/<pid>/<random>`: a fresh identity per process. */
  readonly owner?: string;
  readonly logger?: RuntimeLogger;
  readonly observer?: SagaObserver;
  /** Attached to every saga actor, new or resumed (the Stately inspector, tests). */
  readonly inspect?: (event: InspectionEvent) => void;
  /** How many expired sagas one recovery pass takes over. */
  readonly recoveryBatch?: number;
}

/** One error for every forgotten saga: an Error per saga costs a stack capture each (bench/NOTES.md). */
const NO_LONGER_HERE = new Error('saga is no longer running here');

/** How long a deferred move may stay unwritten (see needsWriteNow). */
const CHECKPOINT_MS = 1_000;

interface RunningSaga {
  readonly gid: string;
  readonly type: string;
  readonly actor: Actor<AnyStateMachine>;
  readonly writer: ProgressWriter;
  readonly done: Deferred<SagaResult>;
  /** The decision to compensate is in the log: no compensation runs before that. */
  decisionDurable: boolean;
  /** Made only when a compensation has to wait for that write (most sagas never compensate). */
  decisionWaiters: Deferred<void> | undefined;
  readonly startedAt: number;
  unsubscribe(): void;
}

interface RegisteredSaga {
  // biome-ignore lint/suspicious/noExplicitAny: each saga type has its own input and services; the registry holds them all
  readonly saga: SagaMachine<any, any>;
}

/**
 * Runs sagas as XState actors and keeps them durable:
 * - a saga's row (with its initial snapshot) is committed before the actor starts, so before any branch;
 * - every later snapshot is written by the saga's ProgressWriter, owner-fenced;
 * - compensation calls wait until a write with status `compensating` has committed: restored invokes
 *   re-run, so a decision that was not durable could otherwise be reversed by a restart;
 * - a lease (owner + expiry per row, renewed by one UPDATE per heartbeat) keeps two coordinators off
 *   one saga; recovery takes over active sagas whose lease expired and resumes them from their snapshot.
 */
export class SagaCoordinator {
  readonly owner: string;
  private readonly types = new Map<string, RegisteredSaga>();
  private readonly sagas = new Map<string, RunningSaga>();
  private readonly lease: LeaseKeeper;
  private readonly logger: RuntimeLogger;
  private recoveryTimer: NodeJS.Timeout | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private recovering: Promise<void> | undefined;
  private lastRecoveryAt = 0;
  private accepting = false;
  private draining = false;
  private inFlight = 0;
  private idle: Deferred<void> | undefined;
  /** Gids whose create failed without a clear answer: maybe in the log, owned by us, run by nobody. */
  private readonly uncertain = new Set<string>();

  constructor(private readonly options: CoordinatorOptions) {
    this.owner = options.owner ?? `${hostname()}/${process.pid}/${Math.random().toString(36).slice(2, 8)}`;
    this.logger = options.logger ?? silentLogger;
    this.lease = new LeaseKeeper(options.log, this.owner, options.leaseMs, this.logger, (held) =>
      this.checkOwnership(held),
    );
  }

  /** Adds a saga type with the services its steps call. */
  define<Input, Services>(
    definition: SagaDefinition<Input, Services>,
    services: Services,
  ): SagaMachine<Input, Services> {
    const saga = buildSagaMachine(definition, {
      services,
      policy: this.options.policy,
      alertRetryLimit: this.options.alertRetryLimit,
      gate: { run: (info, signal, call) => this.gatedCall(definition.type, info, signal, call) },
      onStepFailure: (notice) => this.onStepFailure(notice),
    });
    this.types.set(definition.type, { saga });
    return saga;
  }

  machine(type: string): SagaMachine<unknown, unknown> | undefined {
    return this.types.get(type)?.saga;
  }

  /** Takes the lease for the first time and starts the heartbeat and the recovery loop. */
  async start(): Promise<void> {
    if (!(await this.lease.renew())) throw new TransientFailure('unavailable', 'cannot reach the saga log');
    this.lease.start();
    this.accepting = true;
    await this.recoverOnce();
    this.recoveryTimer = setInterval(() => void this.recoverOnce(), this.options.recoveryIntervalMs);
    this.recoveryTimer.unref();
    this.checkpointTimer = setInterval(() => this.checkpoint(), CHECKPOINT_MS);
    this.checkpointTimer.unref();
  }

  /** One recovery pass; a tick that comes while a pass is still running joins it. */
  private recoverOnce(): Promise<void> {
    this.recovering ??= this.recover().finally(() => {
      this.recovering = undefined;
    });
    return this.recovering;
  }

  /**
   * Starts a new saga: writes its row, then starts its actor. `exists` when the gid is taken (the caller
   * decides what a replay means).
   */
  async begin<Input>(
    type: string,
    gid: string,
    input: Input,
    requestFingerprint: string | null = null,
  ): Promise<{ readonly created: true; readonly result: Promise<SagaResult> } | { readonly created: false }> {
    if (!this.accepting)
      throw new TransientFailure('unavailable', 'the coordinator is not accepting new sagas');
    const registered = this.types.get(type);
    if (!registered) throw new Error(`unknown saga type ${type}`);
    const { saga } = registered;
    const actor = createActor(saga.machine, {
      id: `${type}:${gid}`,
      input: { gid, input, deadline: Date.now() + this.options.timeoutMs },
      ...(this.options.inspect ? { inspect: this.options.inspect } : {}),
    });
    const created = await this.createLogged(gid, {
      gid,
      type,
      machineVersion: saga.definition.version,
      input,
      requestFingerprint,
      subject: saga.definition.subjectOf?.(input) ?? null,
      owner: this.owner,
      leaseMs: this.options.leaseMs,
      ...progressOf(saga, actor),
    });
    if (created === 'exists') return { created: false };
    const running = this.run(type, gid, actor, false);
    return { created: true, result: running.done.promise };
  }

  /**
   * A create whose answer was lost (the connection died) may have committed: the row would then be ours,
   * its lease renewed by our heartbeat, and no actor running it. The recovery pass looks such gids up
   * once the log answers again and resumes the ones that exist (see adoptUncertain).
   */
  private async createLogged(gid: string, saga: NewSaga): Promise<'created' | 'exists'> {
    try {
      return await this.options.log.create(saga);
    } catch (error) {
      this.uncertain.add(gid);
      throw error;
    }
  }

  private async adoptUncertain(): Promise<void> {
    for (const gid of [...this.uncertain]) {
      const record = await this.options.log.get(gid);
      this.uncertain.delete(gid);
      if (record && record.owner === this.owner && !isFinalStatus(record.status) && !this.sagas.has(gid)) {
        this.resume(record);
      }
    }
  }

  /** The outcome of a saga this process is running, if it is running it. */
  result(gid: string): Promise<SagaResult> | undefined {
    return this.sagas.get(gid)?.done.promise;
  }

  /**
   * Makes a saga whose step waits in backoff call it now (an operator fixed a downstream outage).
   * `notRunning` when this process does not run the saga, `notWaiting` when no step of it waits.
   */
  retryNow(gid: string): 'retried' | 'notWaiting' | 'notRunning' {
    const saga = this.sagas.get(gid);
    if (!saga) return 'notRunning';
    // Every running state of a saga machine has `calling` and `waiting` (see buildSagaMachine).
    if (!stateName(saga.actor.getSnapshot().value).endsWith('.waiting')) return 'notWaiting';
    saga.actor.send({ type: 'RETRY_NOW' });
    return 'retried';
  }

  get runningCount(): number {
    return this.sagas.size;
  }

  /** For /readyz: the recovery loop has completed a pass recently. */
  get healthy(): boolean {
    return (
      this.accepting &&
      Date.now() - this.lastRecoveryAt < Math.max(3 * this.options.recoveryIntervalMs, 5_000)
    );
  }

  /**
   * Graceful stop: no new sagas, no new branch calls; calls under way may finish within `graceMs`; then
   * actors stop, the last snapshots are written and the leases released so another process resumes at once.
   */
  async stop(graceMs: number): Promise<void> {
    this.accepting = false;
    clearInterval(this.recoveryTimer);
    clearInterval(this.checkpointTimer);
    await this.recovering;
    this.draining = true;
    if (this.inFlight > 0) {
      this.idle = deferred();
      const timer = setTimeout(() => this.idle?.resolve(), graceMs);
      await this.idle.promise;
      clearTimeout(timer);
    }
    const running = [...this.sagas.values()];
    // Deferred moves too: the process that resumes these should not replay steps it need not. Written
    // while the actors still run: a stopped actor's snapshot would restore as stopped, and never move.
    for (const saga of running) saga.writer.checkpoint(Number.POSITIVE_INFINITY);
    await Promise.race([
      Promise.all(running.map((saga) => saga.writer.flush())),
      new Promise((resolve) => setTimeout(resolve, Math.max(1_000, graceMs)).unref()),
    ]);
    for (const saga of running) this.forget(saga, { status: 'released', gid: saga.gid });
    this.lease.stop();
    try {
      const released = await this.options.log.release(this.owner);
      if (released > 0)
        this.logger.info(
          { released, owner: this.owner },
          'released saga leases for another process to resume',
        );
    } catch (error) {
      this.logger.warn({ err: error }, 'could not release saga leases; they expire on their own');
    }
  }

  private run(
    type: string,
    gid: string,
    actor: Actor<AnyStateMachine>,
    resumed: boolean,
    decided = false,
  ): RunningSaga {
    const { saga } = this.types.get(type)!;
    const done = deferred<SagaResult>();
    const writer = new ProgressWriter(
      gid,
      this.owner,
      this.options.log,
      () => progressOf(saga, actor),
      (progress) => this.onWritten(running, progress),
      () => this.onLost(running),
      this.logger,
    );
    const subscription = actor.subscribe({
      next: (snapshot) => {
        if (needsWriteNow(saga, snapshot)) writer.markDirty();
        else writer.markDeferred(Date.now());
      },
      error: (error) => this.logger.error({ err: error, gid, type }, 'saga actor failed'),
    });
    const running: RunningSaga = {
      gid,
      type,
      actor,
      writer,
      done,
      decisionDurable: decided,
      decisionWaiters: undefined,
      startedAt: Date.now(),
      unsubscribe: () => subscription.unsubscribe(),
    };
    this.sagas.set(gid, running);
    this.options.observer?.started?.(type, gid, resumed);
    actor.start();
    return running;
  }

  private onWritten(saga: RunningSaga, progress: SagaProgress): void {
    if (progress.status !== 'pending' && !saga.decisionDurable) {
      saga.decisionDurable = true;
      saga.decisionWaiters?.resolve();
    }
    if (!isFinalStatus(progress.status)) return;
    const context = (saga.actor.getSnapshot() as { context: SagaContext<unknown> }).context;
    const result: SagaResult =
      progress.status === 'succeeded'
        ? { status: 'succeeded', gid: saga.gid, results: context.results }
        : { status: 'aborted', gid: saga.gid, error: context.error };
    const durationMs = Date.now() - saga.startedAt;
    this.options.observer?.finished?.(
      saga.type,
      saga.gid,
      progress.status as 'succeeded' | 'aborted',
      durationMs,
    );
    if (progress.status === 'aborted') {
      this.logger.info({ gid: saga.gid, type: saga.type, error: context.error, durationMs }, 'saga aborted');
    } else {
      this.logger.debug({ gid: saga.gid, type: saga.type, durationMs }, 'saga succeeded');
    }
    this.forget(saga, result);
  }

  private onLost(saga: RunningSaga): void {
    this.logger.warn(
      { gid: saga.gid, type: saga.type, owner: this.owner },
      'saga lease lost to another process; stopped working it',
    );
    this.forget(saga, { status: 'released', gid: saga.gid });
  }

  /** Stops working a saga here. The writer closes before the actor stops: see stop(). */
  private forget(saga: RunningSaga, result: SagaResult): void {
    saga.unsubscribe();
    saga.writer.close();
    saga.actor.stop();
    if (this.sagas.get(saga.gid) === saga) this.sagas.delete(saga.gid);
    saga.done.resolve(result);
    saga.decisionWaiters?.reject(NO_LONGER_HERE);
  }

  private async gatedCall<T>(
    type: string,
    info: StepCallInfo,
    signal: AbortSignal,
    call: () => Promise<T>,
  ): Promise<T> {
    const saga = this.sagas.get(info.gid);
    if (info.op !== 'action' && saga && !saga.decisionDurable) {
      saga.decisionWaiters ??= deferred();
      await Promise.race([saga.decisionWaiters.promise, aborted(signal)]);
    }
    await this.lease.waitValid(signal);
    if (this.draining) await aborted(signal);
    this.inFlight++;
    const started = performance.now();
    let ok = false;
    try {
      const result = await call();
      ok = (result as { ok?: boolean }).ok !== false;
      return result;
    } finally {
      this.inFlight--;
      this.options.observer?.stepCall?.(type, info.step, info.op, performance.now() - started, ok);
      if (this.inFlight === 0) this.idle?.resolve();
    }
  }

  private onStepFailure(notice: StepFailureNotice): void {
    this.options.observer?.stepFailed?.(notice);
    const fields = {
      gid: notice.gid,
      type: notice.type,
      step: notice.step,
      op: notice.op,
      attempt: notice.attempt,
      error: notice.error,
    };
    if (notice.alert)
      this.logger.error(fields, 'compensation keeps failing; it will be retried until it succeeds');
    else if (notice.kind === 'internal') this.logger.error(fields, 'step failed unexpectedly; retrying');
    else if (notice.next === 'retry') this.logger.warn(fields, 'step failed; retrying after backoff');
    else if (notice.next === 'timeout')
      this.logger.warn(fields, 'step kept failing past the saga timeout; compensating');
    else this.logger.info(fields, 'step refused; compensating');
  }

  /** Writes the deferred moves of sagas that have been running a while, so the log shows where they are. */
  private checkpoint(): void {
    const before = Date.now() - CHECKPOINT_MS;
    for (const saga of this.sagas.values()) saga.writer.checkpoint(before);
  }

  /** After a renewal: when the database says we hold fewer sagas than we run, find and stop the lost ones. */
  private checkOwnership(held: number): void {
    // Sagas leave the map once their final state is written, so every one in it is active in the log.
    if (held >= this.sagas.size) return;
    const running = [...this.sagas.values()];
    this.options.log
      .stillOwned(
        this.owner,
        running.map((saga) => saga.gid),
      )
      .then((owned) => {
        // A saga whose final state is being written is not lost (a false "lease lost" alarm otherwise,
        // found by the racing chaos test); stillOwned also counts final rows for the same reason.
        for (const saga of running)
          if (
            !owned.has(saga.gid) &&
            this.sagas.get(saga.gid) === saga &&
            saga.actor.getSnapshot().status !== 'done'
          )
            this.onLost(saga);
      })
      .catch((error: unknown) => this.logger.warn({ err: error }, 'could not check saga ownership'));
  }

  private async recover(): Promise<void> {
    const batch = this.options.recoveryBatch ?? 100;
    try {
      await this.adoptUncertain();
      for (;;) {
        if (!this.accepting) return;
        const claimed = await this.options.log.claimExpired(this.owner, this.options.leaseMs, batch);
        for (const record of claimed) if (!this.sagas.has(record.gid)) this.resume(record);
        this.lastRecoveryAt = Date.now();
        if (claimed.length < batch) return;
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'saga recovery pass failed; will try again');
    }
  }

  private resume(record: SagaRecord): void {
    const registered = this.types.get(record.type);
    if (!registered || registered.saga.definition.version !== record.machineVersion) {
      this.logger.error(
        { gid: record.gid, type: record.type, version: record.machineVersion },
        'cannot resume saga: this process has no machine of that type and version',
      );
      return;
    }
    const actor = restoreSagaActor(registered.saga.machine, record.snapshot, {
      id: `${record.type}:${record.gid}`,
      ...(this.options.inspect ? { inspect: this.options.inspect } : {}),
    });
    this.logger.info(
      {
        gid: record.gid,
        type: record.type,
        state: record.state,
        status: record.status,
        // By the database's clock: two claims of one saga must be a whole lease apart (checked in tests).
        leaseExpiresAt: record.leaseExpiresAt,
      },
      'resuming saga',
    );
    this.options.observer?.takeover?.(record.type, record.gid);
    this.run(record.type, record.gid, actor, true, record.status === 'compensating');
  }
}

/**
 * Whether a move must reach the log before the saga goes on. Everything but a clean forward move does:
 * the decision to compensate, the end, and any failure (attempt counts and backoff deadlines must survive
 * a restart). A clean forward move can wait: a restart replays its step, which the barrier answers with
 * `duplicate`, so skipping the write costs nothing in correctness and a commit per step in speed.
 */
function needsWriteNow(saga: SagaMachine<unknown, unknown>, snapshot: AnyMachineSnapshot): boolean {
  if (saga.statusOf(snapshot) !== 'pending') return true;
  const context = snapshot.context as SagaContext<unknown>;
  return context.lastError !== null || context.nextAttemptAt !== null;
}

/** The saga-log record of an actor's current state. */
export function progressOf(saga: SagaMachine<unknown, unknown>, actor: Actor<AnyStateMachine>): SagaProgress {
  const snapshot = actor.getSnapshot();
  const context = snapshot.context as SagaContext<unknown>;
  const running = Object.values(context.steps).find(
    (step) => step.status === 'running' || step.status === 'waiting',
  );
  return {
    status: saga.statusOf(snapshot),
    state: stateName(snapshot.value),
    snapshot: actor.getPersistedSnapshot(),
    results: context.results,
    attempts: running?.attempts ?? 0,
    nextAttemptAt: context.nextAttemptAt === null ? null : new Date(context.nextAttemptAt),
    lastError: context.lastError,
    error: context.error,
  };
}
