const ignore = (): void => {};

/**
 * A promise with its resolve/reject in hand (Promise.withResolvers arrives in Node 22). A class, so a
 * saga's deferreds cost their promise and two fields, not a closure per method (bench/NOTES.md, memory).
 */
export class Deferred<T> {
  readonly promise: Promise<T>;
  private settle!: (value: T) => void;
  private fail!: (error: unknown) => void;

  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.settle = resolve;
      this.fail = reject;
    });
  }

  resolve(value: T): void {
    this.settle(value);
  }

  reject(error: unknown): void {
    // A deferred nobody awaits must not crash the process when it is rejected.
    this.promise.catch(ignore);
    this.fail(error);
  }
}

export function deferred<T>(): Deferred<T> {
  return new Deferred<T>();
}

/** Resolves when `signal` aborts (rejecting with its reason); for racing a wait against a stop. */
export function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
