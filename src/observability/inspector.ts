import { createWebSocketInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { withTimeout } from '../with-timeout.js';
import { type InspectorRelay, startInspectorRelay } from './inspector-relay.js';
import { redactSecrets } from './redact-secrets.js';

const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Passes on inspection events, except that the registrations of an actor system (a saga actor and the
 * children its first state invokes, registered when the actor is created) wait for its first other event,
 * which comes when the actor starts. The coordinator creates a saga's actor before writing its row and
 * drops it unstarted when the gid is taken or the write fails; such an actor sends nothing more, not even
 * when it is dropped, so shown it would stay in the inspector as a saga that never moves, and kept for
 * late viewers it would never leave the relay. What waits is held by the system weakly: it goes when the
 * dropped actor is collected.
 */
function startedOnly(next: (event: InspectionEvent) => void): (event: InspectionEvent) => void {
  const unstarted = new WeakMap<AnyActorRef['system'], InspectionEvent[]>();
  return (event) => {
    // Inspection events come from actors, whose type declares their system; ActorRefLike does not.
    const { system } = event.actorRef as AnyActorRef;
    const held = unstarted.get(system);
    if (event.type === '@xstate.actor') {
      if (event.actorRef.sessionId === event.rootId) {
        unstarted.set(system, [event]);
        return;
      }
      if (held) {
        held.push(event);
        return;
      }
    } else if (held) {
      unstarted.delete(system);
      for (const registration of held) next(registration);
    }
    next(event);
  };
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
    await withTimeout(
      relay.publisherConnected,
      CONNECT_TIMEOUT_MS,
      `the inspector did not connect within ${CONNECT_TIMEOUT_MS} ms`,
    );
  } catch (error) {
    inspector.stop();
    await relay.close();
    throw error;
  }
  return {
    inspect: startedOnly((event) => inspector.inspect.next?.(event)),
    url: relay.url,
    port: relay.port,
    async close() {
      inspector.stop();
      await relay.close();
    },
  };
}
