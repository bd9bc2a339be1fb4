import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';

/**
 * A Chrome DevTools Protocol session with a process started with `--inspect=127.0.0.1:<port>`, for the
 * two things the memory scenario needs from a process it did not write: a full garbage collection
 * (HeapProfiler.collectGarbage), so RSS compares live memory rather than where the collector happened to
 * be, and the V8 heap in use (Runtime.getHeapUsage). Nothing else is enabled: no debugger, no profiler.
 */
export async function inspectProcess(port: number, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let target: string | undefined;
  while (target === undefined) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/json/list`, {
        signal: AbortSignal.timeout(2_000),
      });
      const list = (await response.json()) as Array<{ webSocketDebuggerUrl?: string }>;
      target = list[0]?.webSocketDebuggerUrl;
    } catch {
      // not listening yet
    }
    if (target === undefined) {
      if (Date.now() > deadline) throw new Error(`no inspector answered on 127.0.0.1:${port}`);
      await sleep(100);
    }
  }
  const socket = new WebSocket(target);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let nextId = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as {
      id?: number;
      result?: unknown;
      error?: { message: string };
    };
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id as number);
    if (message.error) waiter.reject(new Error(message.error.message));
    else waiter.resolve(message.result);
  });
  const call = <T>(method: string, params: object = {}): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      socket.send(JSON.stringify({ id, method, params }));
    });
  return {
    /** A full collection, twice (as `global.gc()` twice: the first may leave work for finalizers). */
    async collectGarbage(): Promise<void> {
      await call('HeapProfiler.collectGarbage');
      await call('HeapProfiler.collectGarbage');
    },
    /** Bytes of V8 heap in use. */
    async heapUsedBytes(): Promise<number> {
      return (await call<{ usedSize: number }>('Runtime.getHeapUsage')).usedSize;
    },
    close(): void {
      socket.close();
    },
  };
}
