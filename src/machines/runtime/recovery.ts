import { isFinalStatus, type RunnableType, type SagaLog, type SagaRecord } from '../../domain/saga.js';
import type { RuntimeLogger } from './runtime-log.js';
import type { ResumeReason } from './saga-tracing.js';

export interface RecoveryOptions {
  readonly log: SagaLog;
  readonly owner: string;
  readonly leaseMs: number;
  readonly intervalMs: number;
  /** How many expired sagas one pass takes over. */
  readonly batch: number;
  /** The saga types and versions this process runs: it claims no other. */
  readonly runnable: () => readonly RunnableType[];
  /** Whether this process works the saga now (then it need not adopt it). */
  readonly running: (gid: string) => boolean;
  /** Works a claimed saga, from its record and with its new lease. */
  readonly resume: (record: SagaRecord, reason: ResumeReason) => void;
  readonly logger: RuntimeLogger;
}

/**
 * Finds the sagas nobody works and takes them: active sagas of a type and version this process runs
 * whose lease expired (their owner died, or let go on a graceful stop), and sagas this process may have
 * created without knowing it (a create whose answer was lost). Each claim takes a new lease generation;
 * the caller drops whatever it held of that saga before and resumes it from the record.
 */
export class Recovery {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private lastPassAt = 0;
  private stopped = false;
  /** Gids whose create failed without a clear answer: maybe in the log, owned by us, run by nobody. */
  private readonly uncertain = new Set<string>();

  constructor(private readonly options: RecoveryOptions) {}

  start(): Promise<void> {
    this.timer = setInterval(() => void this.once(), this.options.intervalMs);
    this.timer.unref();
    return this.once();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.pass;
  }

  /** A pass completed recently (for /readyz). */
  get healthy(): boolean {
    return Date.now() - this.lastPassAt < Math.max(3 * this.options.intervalMs, 5_000);
  }

  /**
   * A create whose answer was lost (the connection died) may have committed: the row would then be ours,
   * its lease renewed by our heartbeat, and no actor running it. The next pass looks it up.
   */
  createUncertain(gid: string): void {
    this.uncertain.add(gid);
  }

  /** One pass; a tick that comes while a pass is still running joins it. */
  once(): Promise<void> {
    this.pass ??= this.run().finally(() => {
      this.pass = undefined;
    });
    return this.pass;
  }

  private async run(): Promise<void> {
    const { log, owner, leaseMs, batch } = this.options;
    try {
      await this.adoptUncertain();
      for (;;) {
        if (this.stopped) return;
        const claimed = await log.claimExpired(owner, leaseMs, batch, this.options.runnable());
        for (const record of claimed) {
          // Released by a graceful stop: a restart. Held by another process that stopped renewing it (it
          // crashed, or was cut off): a takeover. Held by this very process, whose renewals failed for a
          // whole lease: it takes its own saga back, a retry.
          const from = record.claimedFrom;
          this.hand(record, from === null ? 'restart' : from === owner ? 'retry' : 'takeover');
        }
        this.lastPassAt = Date.now();
        if (claimed.length < batch) return;
      }
    } catch (error) {
      this.options.logger.warn({ err: error }, 'saga recovery pass failed; will try again');
    }
  }

  private async adoptUncertain(): Promise<void> {
    for (const gid of [...this.uncertain]) {
      const record = await this.options.log.get(gid);
      this.uncertain.delete(gid);
      if (
        record &&
        record.owner === this.options.owner &&
        !isFinalStatus(record.status) &&
        !this.options.running(gid)
      ) {
        this.hand(record, 'retry');
      }
    }
  }

  /** A claimed saga goes to the runner if this process has its type and version, else back at once. */
  private hand(record: SagaRecord, reason: ResumeReason): void {
    const { log, owner, logger } = this.options;
    const runnable = this.options
      .runnable()
      .some((type) => type.type === record.type && type.version === record.machineVersion);
    if (runnable) {
      this.options.resume(record, reason);
      return;
    }
    // Claims are filtered by type and version: this saga came here some other way (an adopted create).
    logger.error(
      { gid: record.gid, type: record.type, version: record.machineVersion },
      'cannot resume saga: this process has no machine of that type and version; releasing it',
    );
    log.release(owner, [record.gid]).catch((error: unknown) => {
      logger.warn({ err: error, gid: record.gid }, 'could not release a saga this process cannot run');
    });
  }
}
