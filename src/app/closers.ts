import type { Logger } from 'pino';

/** What the process opened, closed in reverse order: the HTTP server first, the databases last. */
export class Closers {
  private readonly stack: Array<() => Promise<void>> = [];

  constructor(private readonly logger: Logger) {}

  add(close: () => Promise<void>): void {
    this.stack.push(close);
  }

  async closeAll(): Promise<void> {
    for (const close of this.stack.splice(0).reverse()) {
      await close().catch((error: unknown) => this.logger.warn({ err: error }, 'close failed'));
    }
  }
}
