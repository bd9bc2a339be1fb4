import type { SagaLog } from '../../domain/saga.js';
import { aborted, type Deferred, deferred } from './deferred.js';
import type { RuntimeLogger } from './runtime-log.js';

/**
 * Keeps this coordinator's leases alive: one UPDATE renews every active saga it owns. Locally, the
 * lease counts as held until 60% of the lease time after a renewal was *sent*; past that, branch calls
 * wait. Another process may take a saga only once the database's own expiry passes, so there is a
 * margin of 40% of the lease for calls already under way.
 */
export class LeaseKeeper {
  private validUntil = 0;
  private renewed: Deferred<void> = deferred();
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(
    private readonly log: SagaLog,
    private readonly owner: string,
    private readonly leaseMs: number,
    private readonly logger: RuntimeLogger,
    /** Told how many active sagas the database says we still own, after each renewal. */
    private readonly onRenewed: (held: number) => void,
  ) {}

  async renew(): Promise<boolean> {
    const sentAt = performance.now();
    try {
      const held = await this.log.renewLeases(this.owner, this.leaseMs);
      this.validUntil = sentAt + this.leaseMs * 0.6;
      if (this.failing) this.logger.info({ owner: this.owner }, 'saga leases renewed again');
      this.failing = false;
      const waiting = this.renewed;
      this.renewed = deferred();
      waiting.resolve();
      this.onRenewed(held);
      return true;
    } catch (error) {
      if (!this.failing) {
        this.logger.warn(
          { err: error, owner: this.owner },
          'cannot renew saga leases; branch calls pause until it works',
        );
      }
      this.failing = true;
      return false;
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.renew(), Math.max(50, Math.floor(this.leaseMs / 5)));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  get valid(): boolean {
    return performance.now() < this.validUntil;
  }

  /** Resolves at once while the lease is held; otherwise after the next successful renewal. */
  async waitValid(signal: AbortSignal): Promise<void> {
    while (!this.valid) await Promise.race([this.renewed.promise, aborted(signal)]);
  }
}
