/** Snapshot statuses after which an actor sends nothing more (XState v5: `done`, `error`, `stopped`). */
const ENDED = new Set(['done', 'error', 'stopped']);

interface Message {
  type?: unknown;
  sessionId?: unknown;
  rootId?: unknown;
  definition?: unknown;
  snapshot?: { status?: unknown };
}

interface LiveActor {
  /** The `@xstate.actor` message without its definition (shared, see `definitions`). */
  readonly registration: string;
  readonly definition: SharedDefinition | undefined;
  /** The latest `@xstate.snapshot` message, as received. */
  snapshot: string | undefined;
}

interface SharedDefinition {
  /** The `definition` field's value as JSON text, ready to splice into a registration. */
  readonly json: string;
  users: number;
}

/**
 * What a viewer that opens late must get to show every saga still running: the registration of each live
 * actor (the saga's root actor, with its machine definition, and the step or timer actor it has invoked)
 * and its latest snapshot. A saga is forgotten as soon as its root actor ends (done, error, stopped: which
 * is also how a saga handed over or lost to another process leaves), an invoked actor as soon as it ends,
 * so nothing is kept per ended saga, however many ran.
 *
 * Every saga seen here has started (the publisher holds back actors that are never started, see
 * inspector.ts), so each ends with a final snapshot of its root actor, and leaves.
 *
 * Works on the messages `@statelyai/inspect` sends (`@xstate.actor`, `@xstate.event`, `@xstate.snapshot`,
 * each with `sessionId` and the `rootId` of its actor system: one system per saga actor). A machine
 * definition (about 4 kB for the register saga) is the same for every saga of a machine, so it is kept once
 * and spliced back into each registration when replayed.
 */
export class LiveSagas {
  /** By root session id; each saga's actors by session id, the root first, then its descendants. */
  private readonly sagas = new Map<string, Map<string, LiveActor>>();
  private readonly definitions = new Map<string, SharedDefinition>();

  /** Sagas kept now. */
  get size(): number {
    return this.sagas.size;
  }

  /** Notes one message from the publisher; anything it does not understand is ignored. */
  record(text: string): void {
    let message: Message;
    try {
      message = JSON.parse(text) as Message;
    } catch {
      return;
    }
    if (message === null || typeof message !== 'object') return;
    const { type, sessionId } = message;
    if (typeof sessionId !== 'string') return;
    const rootId = typeof message.rootId === 'string' ? message.rootId : sessionId;
    if (type === '@xstate.actor') this.register(rootId, sessionId, message);
    else if (type === '@xstate.snapshot') this.update(rootId, sessionId, message, text);
  }

  /** The messages a new viewer needs, in an order it can follow: each saga's registrations, then snapshots. */
  *replay(): Generator<string> {
    for (const actors of this.sagas.values()) {
      for (const actor of actors.values()) yield withDefinition(actor);
      for (const actor of actors.values()) if (actor.snapshot) yield actor.snapshot;
    }
  }

  private register(rootId: string, sessionId: string, message: Message): void {
    const isRoot = sessionId === rootId;
    let actors = this.sagas.get(rootId);
    if (!actors) {
      // A descendant of a saga we do not keep (it ended, or its registration never came) is not kept either.
      if (!isRoot || ended(message)) return;
      actors = new Map();
      this.sagas.set(rootId, actors);
    }
    if (ended(message)) return;
    const { definition, ...rest } = message;
    this.release(actors.get(sessionId));
    actors.set(sessionId, {
      registration: JSON.stringify(rest),
      definition: definition === undefined ? undefined : this.share(definition),
      snapshot: undefined,
    });
  }

  private update(rootId: string, sessionId: string, message: Message, text: string): void {
    const actors = this.sagas.get(rootId);
    const actor = actors?.get(sessionId);
    if (!actors || !actor) return;
    if (!ended(message)) {
      actor.snapshot = text;
      return;
    }
    if (sessionId === rootId) {
      for (const each of actors.values()) this.release(each);
      this.sagas.delete(rootId);
    } else {
      this.release(actor);
      actors.delete(sessionId);
    }
  }

  private share(definition: unknown): SharedDefinition {
    const json = JSON.stringify(definition);
    let shared = this.definitions.get(json);
    if (!shared) {
      shared = { json, users: 0 };
      this.definitions.set(json, shared);
    }
    shared.users++;
    return shared;
  }

  private release(actor: LiveActor | undefined): void {
    const shared = actor?.definition;
    if (shared && --shared.users === 0) this.definitions.delete(shared.json);
  }
}

function ended(message: Message): boolean {
  const status = message.snapshot?.status;
  return typeof status === 'string' && ENDED.has(status);
}

/** The registration as it was received: `registration` is a JSON object with at least its `type`. */
function withDefinition(actor: LiveActor): string {
  if (!actor.definition) return actor.registration;
  return `${actor.registration.slice(0, -1)},"definition":${actor.definition.json}}`;
}
