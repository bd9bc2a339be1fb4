import { TransientFailure } from '../../domain/errors.js';
import { FIRST_GENERATION, type NewSaga, type SagaRecord } from '../../domain/saga.js';
import type { AnySagaType, SagaType } from '../saga-type.js';
import { type CoordinatorOptions, coordinatorOwner } from './coordinator-options.js';
import { type DefinedType, defineType, sagaActor } from './defined-type.js';
import { FinishedCounts } from './finished-counts.js';
import { LeaseKeeper } from './lease-keeper.js';
import { Recovery } from './recovery.js';
import type { SagaResult } from './running-saga.js';
import { type RuntimeLogger, silentLogger } from './runtime-log.js';
import { moveOf, stateName } from './saga-progress.js';
import { CHECKPOINT_MS, SagaRunner } from './saga-runner.js';
import { noSagaTracing, type ResumeReason, type SagaTracing } from './saga-tracing.js';
import { StepGate } from './step-gate.js';

export { type CoordinatorOptions, coordinatorOwner } from './coordinator-options.js';
export type { SagaResult } from './running-saga.js';
export type { SagaObserver } from './saga-runner.js';
export type { SagaTracing } from './saga-tracing.js';
export type { StepFailureNotice } from './step-failures.js';

/**
 * Runs sagas as XState actors and keeps them durable:
 * - a saga's row (with its initial snapshot) is committed before the actor starts, so before any branch;
 * - every later snapshot is written by the saga's ProgressWriter, fenced by its lease (owner and
 *   generation);
 * - a step calls its branch only through the StepGate (lease held, decision to compensate durable);
 * - a lease (renewed by one UPDATE per heartbeat) keeps two coordinators off one saga; Recovery claims
 *   the sagas whose lease expired, each under a new generation, and the SagaRunner resumes them from the
 *   record, dropping whatever this process still held of them.
 */
export class SagaCoordinator {
  readonly owner: string;
  private readonly types = new Map<string, DefinedType>();
  private readonly lease: LeaseKeeper;
  private readonly gate: StepGate;
  private readonly runner: SagaRunner;
  private readonly recovery: Recovery;
  private readonly finishedCounts: FinishedCounts;
  private readonly logger: RuntimeLogger;
  private readonly tracing: SagaTracing;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private accepting = false;

  constructor(private readonly options: CoordinatorOptions) {
    this.owner = options.owner ?? coordinatorOwner();
    this.logger = options.logger ?? silentLogger;
    this.tracing = options.tracing ?? noSagaTracing;
    this.lease = new LeaseKeeper(options.log, this.owner, options.leaseMs, this.logger, (held) =>
      this.checkOwnership(held),
    );
    this.gate = new StepGate(this.lease, options.observer?.stepCall?.bind(options.observer));
    this.finishedCounts = new FinishedCounts(options.log, this.owner, this.logger);
    this.runner = new SagaRunner({
      log: options.log,
      leaseMs: options.leaseMs,
      finishedCounts: this.finishedCounts,
      gate: this.gate,
      policy: options.policy,
      alertRetryLimit: options.alertRetryLimit,
      logger: this.logger,
      tracing: this.tracing,
      ...(options.observer ? { observer: options.observer } : {}),
      ...(options.inspect ? { inspect: options.inspect } : {}),
    });
    this.recovery = new Recovery({
      log: options.log,
      owner: this.owner,
      leaseMs: options.leaseMs,
      intervalMs: options.recoveryIntervalMs,
      batch: options.recoveryBatch ?? 100,
      runnable: () => [...this.types.values()].map(({ sagaType }) => sagaType),
      running: (gid) => this.runner.get(gid) !== undefined,
      resume: (record, reason) => this.resume(record, reason),
      logger: this.logger,
    });
  }

  /**
   * Adds a saga type with the services its steps call. `ridingServices` names the services that run in
   * this process on the saga log's database: the saga's log is written inside their transactions.
   */
  define<Input, Services>(
    sagaType: SagaType<Input, Services>,
    services: Services,
    ridingServices: Iterable<keyof Services & string> = [],
  ): void {
    const defined = defineType(sagaType, services, ridingServices, (...args) =>
      this.runner.callStep(...args),
    );
    this.types.set(sagaType.type, defined);
  }

  sagaType(type: string): AnySagaType | undefined {
    return this.types.get(type)?.sagaType;
  }

  /** Takes the lease for the first time and starts the heartbeat and the recovery loop. */
  async start(): Promise<void> {
    if (!(await this.lease.renew())) throw new TransientFailure('unavailable', 'cannot reach the saga log');
    this.lease.start();
    this.accepting = true;
    await this.recovery.start();
    this.finishedCounts.start();
    this.checkpointTimer = setInterval(() => this.runner.checkpoint(), CHECKPOINT_MS);
    this.checkpointTimer.unref();
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
  ): Promise<
    | {
        readonly created: true;
        readonly result: Promise<SagaResult>;
        /** The saga's W3C traceparent (kept in its row); null when tracing is off. */
        readonly traceContext: string | null;
      }
    | { readonly created: false }
  > {
    if (!this.accepting)
      throw new TransientFailure('unavailable', 'the coordinator is not accepting new sagas');
    const defined = this.types.get(type);
    if (!defined) throw new Error(`unknown saga type ${type}`);
    const start = { gid, input, deadline: Date.now() + this.options.timeoutMs, retry: this.options.policy };
    const actor = sagaActor(defined, gid, { input: start }, this.options.inspect);
    const trace = this.tracing.begin(type, gid);
    const creation = {
      gid,
      type,
      machineVersion: defined.sagaType.version,
      input,
      requestFingerprint,
      subject: defined.sagaType.subjectOf?.(input) ?? null,
      traceContext: trace.traceContext,
      owner: this.owner,
      leaseMs: this.options.leaseMs,
    };
    // The row rides the first step's transaction when that step rides: created with the saga's first
    // effect, or not at all. It is written first, on its own, when the gid may exist already (an
    // Idempotency-Key names it) or the first step's service is remote.
    const firstStep = defined.callingStates.get(stateName(actor.getSnapshot().value));
    const rides = requestFingerprint === null && defined.riding.has(firstStep ?? '');
    if (!rides) {
      try {
        const saga: NewSaga = { ...creation, ...moveOf(actor.getSnapshot()) };
        if ((await trace.within(() => this.options.log.create(saga))) === 'exists') {
          trace.end({ status: 'notCreated', gid });
          return { created: false };
        }
      } catch (error) {
        trace.end({ status: 'notCreated', gid });
        this.recovery.createUncertain(gid);
        throw error;
      }
    }
    const lease = { owner: this.owner, generation: FIRST_GENERATION };
    const running = this.runner.run(defined, actor, lease, creation, {
      resumed: false,
      decided: false,
      rowExists: !rides,
      trace,
    });
    return { created: true, result: running.done.promise, traceContext: trace.traceContext };
  }

  /**
   * A saga this process runs, as the log would record it: for a saga whose row does not exist yet (its
   * first step rides and has not committed), the only account of it there is.
   */
  runningRecord(gid: string): SagaRecord | undefined {
    return this.runner.get(gid)?.asRecord();
  }

  /** The outcome of a saga this process is running, if it is running it. */
  result(gid: string): Promise<SagaResult> | undefined {
    return this.runner.get(gid)?.done.promise;
  }

  /**
   * Makes a saga whose step waits in backoff call it now (an operator fixed a downstream outage).
   * `notRunning` when this process does not run the saga, `notWaiting` when no step of it waits.
   */
  retryNow(gid: string): 'retried' | 'notWaiting' | 'notRunning' {
    const saga = this.runner.get(gid);
    if (!saga) return 'notRunning';
    // Every step state of a saga machine has `calling` and `waiting` (step-states.ts).
    if (!stateName(saga.actor.getSnapshot().value).endsWith('.waiting')) return 'notWaiting';
    saga.actor.send({ type: 'RETRY_NOW' });
    return 'retried';
  }

  get runningCount(): number {
    return this.runner.size;
  }

  /** For /readyz: the recovery loop has completed a pass recently. */
  get healthy(): boolean {
    return this.accepting && this.recovery.healthy;
  }

  /**
   * Graceful stop: no new sagas, no new branch calls; calls under way may finish within `graceMs`; then
   * actors stop, the last snapshots are written and the leases released so another process resumes at once.
   */
  async stop(graceMs: number): Promise<void> {
    this.accepting = false;
    clearInterval(this.checkpointTimer);
    await this.recovery.stop();
    await this.gate.drain(graceMs);
    await this.finishedCounts.stop();
    const running = this.runner.all();
    // Deferred moves too: the process that resumes these should not replay steps it need not. Written
    // while the actors still run: a stopped actor's snapshot would restore as stopped, and never move.
    this.runner.checkpoint(Number.POSITIVE_INFINITY);
    await Promise.race([
      Promise.all(running.map((saga) => saga.writer.flush())),
      new Promise((resolve) => setTimeout(resolve, Math.max(1_000, graceMs)).unref()),
    ]);
    for (const saga of running) this.runner.end(saga, { status: 'released', gid: saga.gid });
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

  /** A claimed saga of a type and version this process runs (Recovery releases the others). */
  private resume(record: SagaRecord, reason: ResumeReason): void {
    const defined = this.types.get(record.type);
    if (defined)
      this.runner.resume(defined, record, { owner: this.owner, generation: record.leaseGeneration }, reason);
  }

  /** After a renewal: when the database says we hold fewer sagas than we run, find and stop the lost ones. */
  private checkOwnership(held: number): void {
    // Sagas leave the runner once their final state is written, so every one in it with a row is active
    // in the log (a saga whose first step has not committed has no row yet).
    if (held >= this.runner.logged) return;
    const running = this.runner.all().filter((saga) => saga.rowExists);
    this.options.log
      .stillOwned(
        this.owner,
        running.map((saga) => saga.gid),
      )
      .then((owned) => {
        // A saga whose final state is being written is not lost (a false "lease lost" alarm otherwise,
        // found by the racing chaos test); stillOwned also counts final rows for the same reason.
        for (const saga of running)
          if (!owned.has(saga.gid) && saga.current && saga.actor.getSnapshot().status !== 'done')
            this.runner.lost(saga);
      })
      .catch((error: unknown) => this.logger.warn({ err: error }, 'could not check saga ownership'));
  }
}
