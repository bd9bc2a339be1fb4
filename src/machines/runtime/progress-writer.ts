import { setTimeout as sleep } from 'node:timers/promises';
import type { SagaMove } from '../../domain/saga.js';
import type { RuntimeLogger } from './runtime-log.js';

/**
 * Writes one saga's moves to the log in statements of their own (the moves no branch transaction
 * carries), one write at a time and latest first: when the saga moves again while a write is under way,
 * only its newest state is written next (no write that carries no new information). The move is read
 * when the write starts, not when it was asked for. A failed write is retried until it succeeds or the
 * lease turns out to be gone (another process took the saga, or this one claimed it back under a new
 * generation).
 */
export class ProgressWriter {
  private dirty = false;
  private deferredSince = 0;
  private writing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly gid: string,
    /** Writes the move under the saga's lease; false when the lease is gone. */
    private readonly write: (move: SagaMove) => Promise<boolean>,
    private readonly read: () => SagaMove,
    private readonly onWritten: (move: SagaMove) => void,
    private readonly onLost: () => void,
    private readonly logger: RuntimeLogger,
  ) {}

  markDirty(): void {
    if (this.closed) return;
    this.deferredSince = 0;
    this.dirty = true;
    this.writing ??= this.drain();
  }

  /**
   * The saga moved in a way recovery does not need written at once (a forward step succeeded: replayed
   * after a crash, it meets its barrier and answers `duplicate`). Written by the next urgent write, or by
   * `checkpoint()` if the saga is still there a while later, so readers see it move.
   */
  markDeferred(now: number): void {
    if (this.closed || this.deferredSince !== 0) return;
    this.deferredSince = now;
  }

  /** Writes a deferred move made before `before`; true if one was pending. */
  checkpoint(before: number): boolean {
    if (this.deferredSince === 0 || this.deferredSince > before) return false;
    this.markDirty();
    return true;
  }

  /** Resolves when everything asked for so far is written (or the writer was closed). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  close(): void {
    this.closed = true;
  }

  private async drain(): Promise<void> {
    // Let the caller's `??=` store this promise before the loop can finish and clear it.
    await Promise.resolve();
    let failures = 0;
    while (this.dirty && !this.closed) {
      this.dirty = false;
      const move = this.read();
      try {
        const owned = await this.write(move);
        if (!owned) {
          this.closed = true;
          this.onLost();
          break;
        }
        if (failures > 0) this.logger.info({ gid: this.gid }, 'saga log write succeeded again');
        failures = 0;
        this.onWritten(move);
      } catch (error) {
        this.dirty = true;
        failures++;
        if (failures === 1)
          this.logger.warn({ err: error, gid: this.gid }, 'saga log write failed; retrying');
        await sleep(Math.min(1_000, 25 * 2 ** failures));
      }
    }
    this.writing = undefined;
  }
}
