import { describe, expect, it } from 'vitest';
import { type AnyActorRef, createActor, fromPromise, type Snapshot, toPromise, waitFor } from 'xstate';
import type { BarrierOutcome } from '../../src/domain/branch.js';
import { BusinessFailure, type DomainError, TransientFailure } from '../../src/domain/errors.js';
import type { SagaRecord } from '../../src/domain/saga.js';
import { type RegisterInput, registerMachine } from '../../src/machines/register-machine.js';
import { moveOf, snapshotOf, stateName, statusOf } from '../../src/machines/runtime/saga-progress.js';
import type { SagaContext, StepFailed, StepInput } from '../../src/machines/saga-context.js';

const input: RegisterInput = {
  user: { id: 7, name: 'Ada', gender: 'female' },
  score: 3,
  sealedPasswordHash: null,
};
const retry = { baseMs: 5, factor: 2, maxMs: 20 };

const transient = () => new TransientFailure('unavailable', 'service down');
const refused = () => new BusinessFailure('score_rejected', "user score can't equal 10");

type Step = 'saveUser' | 'saveUserScore' | 'saveUserCallback' | 'saveUserScoreCallback';
/** What a step answers on its next calls: an error, a barrier outcome, or `hang` (never answers). */
type Script = Partial<Record<Step, Array<DomainError | BarrierOutcome | 'hang'>>>;

/**
 * The register machine with its step actors swapped for scripted ones (XState's `provide`): each call is
 * recorded with the input it got, and answers as the script says, else done.
 */
function scripted(script: Script = {}) {
  const calls: Array<{ step: Step; input: StepInput<RegisterInput> }> = [];
  const actor = (step: Step) =>
    fromPromise<{ value: unknown; barrier: BarrierOutcome }, StepInput<RegisterInput>>(async ({ input }) => {
      calls.push({ step, input });
      const next = script[step]?.shift();
      if (next === 'hang') return new Promise(() => {});
      if (next instanceof Error) throw next;
      const value = step === 'saveUser' ? input.input.user : null;
      return { value, barrier: next ?? 'done' };
    });
  const machine = registerMachine.provide({
    actors: {
      saveUser: actor('saveUser'),
      saveUserScore: actor('saveUserScore'),
      saveUserCallback: actor('saveUserCallback'),
      saveUserScoreCallback: actor('saveUserScoreCallback'),
    },
  });
  const failures: StepFailed[] = [];
  const start = (options: { deadlineMs?: number; retry?: typeof retry } = {}) => {
    const saga = createActor(machine, {
      input: {
        gid: 'gid-1',
        input,
        deadline: Date.now() + (options.deadlineMs ?? 10_000),
        retry: options.retry ?? retry,
      },
    });
    saga.on('stepFailed', (event) => failures.push(event));
    return saga;
  };
  const restore = (snapshot: unknown) => {
    const saga = createActor(machine, { snapshot: snapshot as Snapshot<unknown>, input: undefined as never });
    saga.on('stepFailed', (event) => failures.push(event));
    return saga;
  };
  return { calls, steps: () => calls.map((call) => call.step), failures, start, restore };
}

const contextOf = (actor: AnyActorRef) => actor.getSnapshot().context as SagaContext<RegisterInput>;

describe('register machine', () => {
  it('saves the user, then the score, and succeeds', async () => {
    const saga = scripted();
    const actor = saga.start().start();
    await toPromise(actor);

    expect(actor.getSnapshot().value).toBe('scoreSaved');
    expect(statusOf(actor.getSnapshot())).toBe('succeeded');
    expect(saga.steps()).toEqual(['saveUser', 'saveUserScore']);
    // saveUser's result flows forward to the next step.
    expect(saga.calls[1]?.input.results).toEqual({ saveUser: input.user });
    expect(contextOf(actor).history.map((entry) => [entry.step, entry.outcome, entry.barrier])).toEqual([
      ['saveUser', 'succeeded', 'done'],
      ['saveUserScore', 'succeeded', 'done'],
    ]);
  });

  it('compensates both branches, newest first, when the score is refused, and aborts', async () => {
    const saga = scripted({ saveUserScore: [refused()] });
    const actor = saga.start().start();
    await toPromise(actor);

    expect(actor.getSnapshot().value).toBe('aborted');
    expect(statusOf(actor.getSnapshot())).toBe('aborted');
    expect(saga.steps()).toEqual(['saveUser', 'saveUserScore', 'saveUserScoreCallback', 'saveUserCallback']);
    expect(contextOf(actor).error).toEqual({ code: 'score_rejected', message: "user score can't equal 10" });
    expect(saga.failures.map((event) => [event.step, event.next])).toEqual([['saveUserScore', 'compensate']]);
  });

  it('compensates every step, not only those it saw run, when saveUser itself is refused', async () => {
    // A saga resumed from a stale log may be in `pending` although saveUserScore already ran: the null
    // compensation of a branch that never ran costs one barrier row and blocks a late action.
    const saga = scripted({ saveUser: [refused()] });
    const actor = saga.start().start();
    await toPromise(actor);

    expect(actor.getSnapshot().value).toBe('aborted');
    expect(saga.steps()).toEqual(['saveUser', 'saveUserScoreCallback', 'saveUserCallback']);
  });

  it('retries a transient failure with backoff, counting attempts, then goes on', async () => {
    const saga = scripted({ saveUserScore: [transient(), transient()] });
    const actor = saga.start().start();
    await toPromise(actor);

    expect(actor.getSnapshot().value).toBe('scoreSaved');
    expect(saga.steps()).toEqual(['saveUser', 'saveUserScore', 'saveUserScore', 'saveUserScore']);
    expect(contextOf(actor).steps.saveUserScore).toMatchObject({ status: 'succeeded', attempts: 3 });
    expect(saga.failures.map((event) => [event.step, event.attempt, event.next, event.kind])).toEqual([
      ['saveUserScore', 1, 'retry', 'transient'],
      ['saveUserScore', 2, 'retry', 'transient'],
    ]);
    const history = contextOf(actor).history.filter((entry) => entry.step === 'saveUserScore');
    expect(history.map((entry) => entry.outcome)).toEqual(['retrying', 'retrying', 'succeeded']);
  });

  it('turns a forward step that keeps failing past the deadline into compensation of every step', async () => {
    const saga = scripted({ saveUserScore: Array.from({ length: 100 }, transient) });
    const actor = saga.start({ deadlineMs: 60 }).start();
    await toPromise(actor);

    expect(actor.getSnapshot().value).toBe('aborted');
    expect(contextOf(actor).error?.code).toBe('saga_timeout');
    expect(contextOf(actor).error?.message).toMatch(
      /saveUserScore kept failing past the saga timeout: service down/,
    );
    expect(saga.steps().slice(-2)).toEqual(['saveUserScoreCallback', 'saveUserCallback']);
    expect(saga.failures.at(-1)).toMatchObject({ step: 'saveUserScore', next: 'timeout' });
  });

  it('retries a failing compensation until it succeeds', async () => {
    const saga = scripted({
      saveUserScore: [refused()],
      saveUserCallback: [transient(), transient(), transient()],
    });
    const actor = saga.start().start();
    await toPromise(actor);

    expect(actor.getSnapshot().value).toBe('aborted');
    expect(saga.steps().filter((step) => step === 'saveUserCallback')).toHaveLength(4);
    expect(
      saga.failures.filter((event) => event.step === 'saveUserCallback').map((event) => event.attempt),
    ).toEqual([1, 2, 3]);
  });

  it('compensates on branch_compensated (an action that arrived after its compensation)', async () => {
    const saga = scripted({ saveUserScore: [new BusinessFailure('branch_compensated')] });
    const actor = saga.start().start();
    await toPromise(actor);
    expect(actor.getSnapshot().value).toBe('aborted');
    expect(contextOf(actor).error?.code).toBe('branch_compensated');
  });

  it('retries an error that is not ours (a bug) as internal, never compensating for it', async () => {
    const saga = scripted({ saveUser: [new Error('boom') as DomainError] });
    const actor = saga.start().start();
    await toPromise(actor);
    expect(actor.getSnapshot().value).toBe('scoreSaved');
    expect(saga.failures).toMatchObject([{ step: 'saveUser', kind: 'internal', next: 'retry' }]);
  });

  it('counts a duplicate reply (a replayed branch) as success', async () => {
    const saga = scripted({ saveUser: ['duplicate'] });
    const actor = saga.start().start();
    await toPromise(actor);
    expect(actor.getSnapshot().value).toBe('scoreSaved');
    expect(contextOf(actor).history[0]?.barrier).toBe('duplicate');
  });

  it('skips the backoff wait on RETRY_NOW', async () => {
    const saga = scripted({ saveUser: [transient()] });
    const actor = saga
      .start({ retry: { baseMs: 60_000, factor: 2, maxMs: 60_000 }, deadlineMs: 600_000 })
      .start();
    await waitFor(actor, (snapshot) => stateName(snapshot.value) === 'pending.waiting');
    expect(contextOf(actor).nextAttemptAt).toBeGreaterThan(Date.now() + 20_000);
    actor.send({ type: 'RETRY_NOW' });
    await toPromise(actor);
    expect(actor.getSnapshot().value).toBe('scoreSaved');
  });

  describe('resumed from its log record (state, progress record, timeline)', () => {
    /** Runs a saga until it is in `stop`, and reads it as the log records it. */
    async function recordAt(stop: string, script: Script, options: { deadlineMs?: number } = {}) {
      const first = scripted(script);
      const actor = first.start(options).start();
      await waitFor(actor, (snapshot) => stateName(snapshot.value) === stop);
      const move = moveOf(actor.getSnapshot());
      actor.stop();
      const record = JSON.parse(
        JSON.stringify({ ...move, gid: 'gid-1', type: 'register', machineVersion: 1, input, owner: null }),
      );
      return { ...record, createdAt: new Date(), updatedAt: new Date(), finishedAt: null } as SagaRecord;
    }

    function resume(saga: ReturnType<typeof scripted>, record: SagaRecord) {
      const restored = saga.restore(snapshotOf(registerMachine, record, retry)).start();
      restored.send({ type: 'RESUME' });
      return restored;
    }

    it('calls the step that was under way again, with the results it had', async () => {
      const record = await recordAt('userSaved.calling', { saveUserScore: ['hang'] });
      expect(record.progress.results).toEqual({ saveUser: input.user });
      expect(record.detail).toBeNull(); // a clean timeline is not kept
      const saga = scripted();
      const restored = resume(saga, record);
      await toPromise(restored);
      expect(restored.getSnapshot().value).toBe('scoreSaved');
      expect(saga.steps()).toEqual(['saveUserScore']);
      expect(saga.calls[0]?.input.results).toEqual({ saveUser: input.user });
    });

    it('honours the backoff deadline it recorded when resumed while waiting, and keeps the timeline', async () => {
      const record = await recordAt('userSaved.waiting', { saveUserScore: [transient()] });
      expect((record.detail as { history: unknown[] }).history).toHaveLength(2);
      const saga = scripted();
      const restored = resume(saga, record);
      await toPromise(restored);
      expect(saga.steps()).toEqual(['saveUserScore']);
      expect(contextOf(restored).history.at(-1)?.finishedAt).toBeGreaterThanOrEqual(
        record.progress.nextAttemptAt as number,
      );
      expect(contextOf(restored).history.map((entry) => entry.outcome)).toEqual([
        'succeeded',
        'retrying',
        'succeeded',
      ]);
    });

    it('goes on compensating from the compensation that was under way', async () => {
      const record = await recordAt('compensating.saveUserScoreCallback.calling', {
        saveUserScore: [refused()],
        saveUserScoreCallback: ['hang'],
      });
      expect(record.status).toBe('compensating');
      const saga = scripted();
      const restored = resume(saga, record);
      await toPromise(restored);
      expect(restored.getSnapshot().value).toBe('aborted');
      expect(saga.steps()).toEqual(['saveUserScoreCallback', 'saveUserCallback']);
      expect(contextOf(restored).error?.code).toBe('score_rejected');
    });

    it('compensates every branch when a stale record in pending fails past its deadline', async () => {
      // The unit version of the reproduction: the log says `pending`, saveUserScore in fact ran,
      // the process came back past the deadline and the replayed saveUser fails once.
      const record = await recordAt('pending.calling', { saveUser: ['hang'] }, { deadlineMs: 1 });
      await new Promise((resolve) => setTimeout(resolve, 5));
      const saga = scripted({ saveUser: [transient()] });
      const restored = resume(saga, record);
      await toPromise(restored);
      expect(restored.getSnapshot().value).toBe('aborted');
      expect(saga.steps()).toEqual(['saveUser', 'saveUserScoreCallback', 'saveUserCallback']);
      expect(contextOf(restored).error?.code).toBe('saga_timeout');
    });

    it('takes the process retry policy for a record written before sagas kept their own', async () => {
      const record = await recordAt('userSaved.waiting', { saveUserScore: [transient()] });
      const { retry: _kept, ...older } = record.progress as unknown as Record<string, unknown>;
      const restored = createActor(registerMachine, {
        snapshot: snapshotOf(
          registerMachine,
          { ...record, progress: older as never },
          { baseMs: 7, factor: 3, maxMs: 9 },
        ) as Snapshot<unknown>,
        input: undefined as never,
      });
      expect(contextOf(restored).retry).toEqual({ baseMs: 7, factor: 3, maxMs: 9 });
    });
  });
});
