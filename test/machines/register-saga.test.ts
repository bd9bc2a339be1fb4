import { describe, expect, it } from 'vitest';
import { type AnyActorRef, createActor, toPromise, waitFor } from 'xstate';
import { type RegisterInput, registerSaga } from '../../src/machines/register-saga.js';
import type { SagaContext } from '../../src/machines/saga-definition.js';
import {
  buildSagaMachine,
  restoreSagaActor,
  type StepFailureNotice,
  stateName,
} from '../../src/machines/saga-machine.js';
import { fakeWorld, refused, transient } from '../helpers/fake-services.js';

const input: RegisterInput = {
  user: { id: 7, name: 'Ada', gender: 'female' },
  score: 3,
  sealedPasswordHash: null,
};

function setup(options: { deadlineMs?: number; alertRetryLimit?: number } = {}) {
  const world = fakeWorld();
  const notices: StepFailureNotice[] = [];
  const saga = buildSagaMachine(registerSaga, {
    services: world.services,
    policy: { baseMs: 5, factor: 2, maxMs: 20 },
    alertRetryLimit: options.alertRetryLimit ?? 3,
    gate: { run: (_info, _signal, call) => call() },
    onStepFailure: (notice) => notices.push(notice),
  });
  const start = (sagaInput: RegisterInput = input) =>
    createActor(saga.machine, {
      input: { gid: 'gid-1', input: sagaInput, deadline: Date.now() + (options.deadlineMs ?? 10_000) },
    });
  return { world, notices, saga, start };
}

const methods = (world: ReturnType<typeof fakeWorld>) => world.calls.map((call) => call.method);
const contextOf = (actor: AnyActorRef) => actor.getSnapshot().context as SagaContext<RegisterInput>;

describe('register saga machine', () => {
  it('saves the user, then the score with the id saveUser returned, and succeeds', async () => {
    const { world, saga, start } = setup();
    const actor = start().start();
    await toPromise(actor);

    expect(actor.getSnapshot().value).toBe('scoreSaved');
    expect(saga.statusOf(actor.getSnapshot())).toBe('succeeded');
    expect(methods(world)).toEqual(['saveUser', 'saveUserScore']);
    expect(world.calls[1]!.arg).toEqual({ userId: 7, score: 3 });
    expect(world.calls.map((call) => [call.branch.branchId, call.branch.op, call.branch.gid])).toEqual([
      ['01', 'action', 'gid-1'],
      ['02', 'action', 'gid-1'],
    ]);
    expect(contextOf(actor).results).toEqual({
      saveUser: { id: 7, name: 'Ada', gender: 'female' },
      saveUserScore: { userId: 7, score: 3 },
    });
  });

  it('compensates both branches in reverse order when the score is refused, and aborts', async () => {
    const { world, saga, start } = setup();
    world.script.saveUserScore = [refused()];
    const actor = start().start();
    await toPromise(actor);

    expect(actor.getSnapshot().value).toBe('aborted');
    expect(saga.statusOf(actor.getSnapshot())).toBe('aborted');
    expect(methods(world)).toEqual([
      'saveUser',
      'saveUserScore',
      'saveUserScoreCallback',
      'saveUserCallback',
    ]);
    expect(contextOf(actor).error).toEqual({ code: 'score_rejected', message: "user score can't equal 10" });
    expect(world.users.size + world.scores.size).toBe(0);
  });

  it('compensates only the user branch when saveUser itself is refused', async () => {
    const { world, start } = setup();
    world.script.saveUser = [refused()];
    const actor = start().start();
    await toPromise(actor);

    expect(actor.getSnapshot().value).toBe('aborted');
    expect(methods(world)).toEqual(['saveUser', 'saveUserCallback']);
  });

  it('retries a transient failure with backoff, counting attempts, then goes on', async () => {
    const { world, notices, start } = setup();
    world.script.saveUserScore = [transient(), transient()];
    const actor = start().start();
    await toPromise(actor);

    expect(actor.getSnapshot().value).toBe('scoreSaved');
    expect(methods(world)).toEqual(['saveUser', 'saveUserScore', 'saveUserScore', 'saveUserScore']);
    expect(contextOf(actor).steps.saveUserScore).toMatchObject({ status: 'succeeded', attempts: 3 });
    expect(notices.map((notice) => [notice.step, notice.attempt, notice.next])).toEqual([
      ['saveUserScore', 1, 'retry'],
      ['saveUserScore', 2, 'retry'],
    ]);
    const history = contextOf(actor).history.filter((entry) => entry.step === 'saveUserScore');
    expect(history.map((entry) => entry.outcome)).toEqual(['retrying', 'retrying', 'succeeded']);
  });

  it('turns a forward step that keeps failing past the saga timeout into compensation', async () => {
    const { world, start } = setup({ deadlineMs: 60 });
    world.script.saveUserScore = Array.from({ length: 100 }, transient);
    const actor = start().start();
    await toPromise(actor);

    expect(actor.getSnapshot().value).toBe('aborted');
    expect(contextOf(actor).error?.code).toBe('saga_timeout');
    expect(contextOf(actor).error?.message).toMatch(
      /saveUserScore kept failing past the saga timeout: fake outage/,
    );
    expect(methods(world).slice(-2)).toEqual(['saveUserScoreCallback', 'saveUserCallback']);
  });

  it('retries a failing compensation until it succeeds, raising an alert past the limit', async () => {
    const { world, notices, start } = setup({ alertRetryLimit: 2 });
    world.script.saveUserScore = [refused()];
    world.script.saveUserCallback = [transient(), transient(), transient()];
    const actor = start().start();
    await toPromise(actor);

    expect(actor.getSnapshot().value).toBe('aborted');
    expect(methods(world).filter((method) => method === 'saveUserCallback')).toHaveLength(4);
    expect(
      notices.filter((notice) => notice.step === 'saveUserCallback').map((notice) => notice.alert),
    ).toEqual([false, true, true]);
  });

  it('treats a hanging action (already compensated) as a failure, never as success', async () => {
    const { world, start } = setup();
    world.script.saveUserScore = ['hanging'];
    const actor = start().start();
    await toPromise(actor);

    expect(actor.getSnapshot().value).toBe('aborted');
    expect(contextOf(actor).error?.code).toBe('branch_compensated');
  });

  it('counts a duplicate reply (a replayed branch) as success', async () => {
    const { world, start } = setup();
    world.script.saveUser = ['duplicate'];
    const actor = start().start();
    await toPromise(actor);
    expect(actor.getSnapshot().value).toBe('scoreSaved');
  });

  it('skips the backoff wait on RETRY_NOW', async () => {
    const world = fakeWorld();
    const saga = buildSagaMachine(registerSaga, {
      services: world.services,
      policy: { baseMs: 60_000, factor: 2, maxMs: 60_000 },
      alertRetryLimit: 3,
      gate: { run: (_info, _signal, call) => call() },
      onStepFailure: () => {},
    });
    world.script.saveUser = [transient()];
    const actor = createActor(saga.machine, {
      input: { gid: 'g', input, deadline: Date.now() + 600_000 },
    }).start();
    await waitFor(actor, (snapshot) => stateName(snapshot.value) === 'pending.waiting');
    expect(contextOf(actor).nextAttemptAt).toBeGreaterThan(Date.now() + 20_000);
    actor.send({ type: 'RETRY_NOW' });
    await toPromise(actor);
    expect(actor.getSnapshot().value).toBe('scoreSaved');
  });

  describe('restored from a persisted snapshot', () => {
    /** Runs a saga until `stop` holds, persists it, and restores it into a fresh machine. */
    async function persistAt(
      stop: (state: string) => boolean,
      script: (world: ReturnType<typeof fakeWorld>) => void,
    ) {
      const first = setup();
      script(first.world);
      const actor = first.start().start();
      await waitFor(actor, (snapshot) => stop(stateName(snapshot.value)));
      const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
      actor.stop();
      first.world.releaseHung();
      const second = setup();
      const restored = restoreSagaActor(second.saga.machine, persisted);
      return { persisted, restored, world: second.world };
    }

    it('re-runs the step that was in flight in pending', async () => {
      const { persisted, restored, world } = await persistAt(
        (state) => state === 'pending.calling',
        (world) => (world.script.saveUser = ['hang']),
      );
      expect(persisted.value).toEqual({ pending: 'calling' });
      restored.start();
      await toPromise(restored);
      expect(restored.getSnapshot().value).toBe('scoreSaved');
      expect(methods(world)).toEqual(['saveUser', 'saveUserScore']);
    });

    it('re-runs saveUserScore from userSaved with the stored result of saveUser', async () => {
      const { restored, world } = await persistAt(
        (state) => state === 'userSaved.calling',
        (world) => (world.script.saveUserScore = ['hang']),
      );
      restored.start();
      await toPromise(restored);
      expect(methods(world)).toEqual(['saveUserScore']);
      expect(world.calls[0]!.arg).toEqual({ userId: 7, score: 3 });
    });

    it('honours the backoff deadline kept in context when restored while waiting', async () => {
      const { persisted, restored, world } = await persistAt(
        (state) => state === 'userSaved.waiting',
        (world) => (world.script.saveUserScore = [transient()]),
      );
      const due = persisted.context.nextAttemptAt as number;
      restored.start();
      await toPromise(restored);
      expect(methods(world)).toEqual(['saveUserScore']);
      expect(restored.getSnapshot().context.history.at(-1)?.startedAt).toBeGreaterThanOrEqual(due);
    });

    it('goes on compensating from the compensation that was in flight, in reverse order', async () => {
      const { restored, world } = await persistAt(
        (state) => state === 'compensating.saveUserScoreCallback.calling',
        (world) => {
          world.script.saveUserScore = [refused()];
          world.script.saveUserScoreCallback = ['hang'];
        },
      );
      restored.start();
      await toPromise(restored);
      expect(restored.getSnapshot().value).toBe('aborted');
      expect(methods(world)).toEqual(['saveUserScoreCallback', 'saveUserCallback']);
    });

    it('retries a waiting compensation after a restore and aborts', async () => {
      const { restored, world } = await persistAt(
        (state) => state === 'compensating.saveUserCallback.waiting',
        (world) => {
          world.script.saveUserScore = [refused()];
          world.script.saveUserCallback = [transient()];
        },
      );
      restored.start();
      await toPromise(restored);
      expect(restored.getSnapshot().value).toBe('aborted');
      expect(methods(world)).toEqual(['saveUserCallback']);
    });

    it('restores a snapshot taken before the actor started (the row written before the first branch)', async () => {
      const { saga, world, start } = setup();
      const persisted = JSON.parse(JSON.stringify(start().getPersistedSnapshot()));
      const restored = restoreSagaActor(saga.machine, persisted).start();
      await toPromise(restored);
      expect(restored.getSnapshot().value).toBe('scoreSaved');
      expect(methods(world)).toEqual(['saveUser', 'saveUserScore']);
    });
  });
});
