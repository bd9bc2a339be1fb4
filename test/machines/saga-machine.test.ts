import { describe, expect, it } from 'vitest';
import { createActor, toPromise } from 'xstate';
import type { BranchReply } from '../../src/domain/branch.js';
import { BusinessFailure } from '../../src/domain/errors.js';
import type { SagaDefinition } from '../../src/machines/saga-definition.js';
import { buildSagaMachine } from '../../src/machines/saga-machine.js';

// A second saga type is a definition, nothing more: here a three-branch money transfer whose last
// branch refuses, compensated in reverse order by the same builder the register saga uses.
interface TransferInput {
  readonly amount: number;
}
interface Ledger {
  readonly log: string[];
  refuseCredit: boolean;
}

const ok = async (): Promise<BranchReply<unknown>> => ({ outcome: 'done', value: null });
const record =
  (name: string) =>
  async (ledger: Ledger): Promise<BranchReply<unknown>> => {
    ledger.log.push(name);
    if (name === 'credit' && ledger.refuseCredit)
      throw new BusinessFailure('score_rejected', 'account closed');
    return ok();
  };

const transferSaga: SagaDefinition<TransferInput, Ledger> = {
  type: 'transfer',
  version: 1,
  initialState: 'started',
  steps: [
    {
      name: 'reserve',
      branchId: '01',
      doneState: 'reserved',
      action: record('reserve'),
      compensation: { name: 'release', run: record('release') },
    },
    {
      name: 'debit',
      branchId: '02',
      doneState: 'debited',
      action: record('debit'),
      compensation: { name: 'refund', run: record('refund') },
    },
    {
      name: 'credit',
      branchId: '03',
      doneState: 'credited',
      action: record('credit'),
      compensation: { name: 'uncredit', run: record('uncredit') },
    },
  ],
  redactInput: (input) => input,
};

function run(refuseCredit: boolean) {
  const ledger: Ledger = { log: [], refuseCredit };
  const saga = buildSagaMachine(transferSaga, {
    services: ledger,
    policy: { baseMs: 1, factor: 2, maxMs: 5 },
    alertRetryLimit: 3,
    gate: { run: (_info, _signal, call) => call() },
    onStepFailure: () => {},
  });
  const actor = createActor(saga.machine, {
    input: { gid: 't-1', input: { amount: 5 }, deadline: Date.now() + 5_000 },
  });
  return { ledger, saga, actor: actor.start() };
}

describe('buildSagaMachine with another saga type', () => {
  it('runs every step in order to the last done state', async () => {
    const { ledger, saga, actor } = run(false);
    await toPromise(actor);
    expect(ledger.log).toEqual(['reserve', 'debit', 'credit']);
    expect(actor.getSnapshot().value).toBe('credited');
    expect(saga.statusOf(actor.getSnapshot())).toBe('succeeded');
  });

  it('compensates every started step in reverse order when the last one refuses', async () => {
    const { ledger, saga, actor } = run(true);
    await toPromise(actor);
    expect(ledger.log).toEqual(['reserve', 'debit', 'credit', 'uncredit', 'refund', 'release']);
    expect(saga.statusOf(actor.getSnapshot())).toBe('aborted');
  });

  it('names states after the definition and gives each invoke the step name as its id', () => {
    const { saga } = run(false);
    const states = saga.machine.root.states;
    expect(Object.keys(states)).toEqual([
      'started',
      'reserved',
      'debited',
      'credited',
      'compensating',
      'aborted',
    ]);
    expect(states.started!.states.calling!.invoke[0]!.id).toBe('reserve');
    expect(Object.keys(states.compensating!.states)).toEqual(['release', 'refund', 'uncredit']);
  });
});
