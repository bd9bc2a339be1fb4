import type { FinishedCount, SagaLog } from '../../domain/saga.js';
import type { RuntimeLogger } from './runtime-log.js';

const FLUSH_MS = 2_000;

/**
 * Sagas this process finished, counted in memory and added to the log's per-minute counts every two
 * seconds (one statement per type and status that moved), so the dashboard's throughput costs no
 * statement per saga. A process that dies loses at most its last two seconds of counts, never a saga.
 */
export class FinishedCounts {
  private counts = new Map<string, FinishedCount>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly log: SagaLog,
    private readonly owner: string,
    private readonly logger: RuntimeLogger,
  ) {}

  add(type: string, status: 'succeeded' | 'aborted'): void {
    const key = `${type}\u0000${status}`;
    const entry = this.counts.get(key);
    if (entry) this.counts.set(key, { ...entry, count: entry.count + 1 });
    else this.counts.set(key, { type, status, count: 1 });
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.counts.size === 0) return;
      const counts = [...this.counts.values()];
      this.counts = new Map();
      try {
        await this.log.countFinished(this.owner, counts);
      } catch (error) {
        // Kept for the next flush: a count is late rather than lost while the log is out of reach.
        for (const entry of counts) for (let i = 0; i < entry.count; i++) this.add(entry.type, entry.status);
        this.logger.warn(
          { err: error },
          'could not add finished sagas to the per-minute counts; will try again',
        );
      }
    });
    return this.flushing;
  }
}
