import { createWebSocketInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import type { InspectionEvent } from 'xstate';
import { type InspectorRelay, startInspectorRelay } from './inspector-relay.js';
import { redactSecrets } from './redact-secrets.js';

const CONNECT_TIMEOUT_MS = 5_000;

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the inspector did not connect within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export interface SagaInspector {
  /** Attach to every saga actor (the coordinator does, new and resumed alike). */
  readonly inspect: (event: InspectionEvent) => void;
  /** The page to open: `http://127.0.0.1:<port>/<viewer key>`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The Stately inspector for saga actors: `@statelyai/inspect`'s WebSocket inspector publishing to our
 * local relay. Every event (actor registrations, events, snapshots, with their inputs and contexts) is
 * copied with secret keys redacted before it leaves the inspector: the register saga carries a sealed
 * password hash in its input, and step actors carry that input too. Costly (it serialises every
 * snapshot), so it is off unless asked for.
 */
export async function startSagaInspector(port: number): Promise<SagaInspector> {
  const relay: InspectorRelay = await startInspectorRelay(port);
  const inspector = createWebSocketInspector({
    url: relay.publishUrl,
    serialize: (event) => redactSecrets(event) as StatelyInspectionEvent,
  });
  // Connected before any saga runs, and before close() can be called: the adapter retries a socket that
  // fails while connecting every 5 s, forever, which would keep a stopped process alive.
  try {
    await withTimeout(relay.publisherConnected, CONNECT_TIMEOUT_MS);
  } catch (error) {
    inspector.stop();
    await relay.close();
    throw error;
  }
  return {
    inspect: (event) => inspector.inspect.next?.(event),
    url: relay.url,
    port: relay.port,
    async close() {
      inspector.stop();
      await relay.close();
    },
  };
}
