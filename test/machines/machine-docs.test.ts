import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type AnyStateMachine, setup } from 'xstate';
import { fullMermaid, machineDocs, stepsMermaid } from '../../src/machines/machine-docs.js';
import { machineGraph, stepGraph } from '../../src/machines/machine-graph.js';
import { registerMachine } from '../../src/machines/register-machine.js';
import { registerSaga } from '../../src/machines/register-saga.js';
import { stepStates, unboundStep } from '../../src/machines/step-states.js';

describe('machine graph and docs', () => {
  it('reads the register machine’s steps and transitions from the machine object', () => {
    const mermaid = stepsMermaid(stepGraph(machineGraph(registerMachine)));
    const lines = mermaid.split('\n').map((line) => line.trim());
    expect(lines[0]).toBe('stateDiagram-v2');
    expect(lines).toContain('[*] --> pending');
    expect(lines).toContain('pending --> userSaved: saveUser done');
    expect(lines).toContain('userSaved --> scoreSaved: saveUserScore done');
    // Every refusal or timeout compensates every step, newest first.
    expect(lines).toContain(
      'pending --> compensating_saveUserScoreCallback: saveUser error [refused] / saveUser error [outOfTime]',
    );
    expect(lines).toContain(
      'userSaved --> compensating_saveUserScoreCallback: saveUserScore error [refused] / saveUserScore error [outOfTime]',
    );
    expect(lines).toContain(
      'compensating_saveUserScoreCallback --> compensating_saveUserCallback: saveUserScoreCallback done',
    );
    expect(lines).toContain('compensating_saveUserCallback --> aborted: saveUserCallback done');
    expect(lines).toContain('scoreSaved --> [*]');
    expect(lines).toContain('aborted --> [*]');
    expect(lines).not.toContain('scoreSaved --> aborted');
    expect(mermaid).not.toContain('compensating_done');
  });

  it('shows every state with its retries in the full diagram', () => {
    const graph = machineGraph(registerMachine);
    expect(graph.finals).toEqual(['scoreSaved', 'aborted']);
    expect(graph.initial).toBe('pending');
    const lines = fullMermaid(graph)
      .split('\n')
      .map((line) => line.trim());
    expect(lines).toContain('pending_waiting --> pending_calling: RETRY_NOW');
    expect(lines).toContain('pending_calling --> pending_waiting: saveUser error');
    expect(lines).toContain('state "calling (invokes saveUser)" as pending_calling');
  });

  it('folds the steps of any machine built from step states, not only register', () => {
    const { step, compensation } = stepStates<unknown>();
    const transfer = setup({
      actors: {
        debit: unboundStep('debit'),
        credit: unboundStep('credit'),
        undebit: unboundStep('undebit'),
        uncredit: unboundStep('uncredit'),
      },
    }).createMachine({
      id: 'transfer',
      initial: 'started',
      states: {
        started: step('debit', { done: '#transfer.debited', undo: '#transfer.compensating' }),
        debited: step('credit', { done: '#transfer.credited', undo: '#transfer.compensating' }),
        credited: { type: 'final' },
        compensating: {
          initial: 'uncredit',
          states: {
            uncredit: compensation('uncredit', { next: '#transfer.compensating.undebit' }),
            undebit: compensation('undebit', { next: '#transfer.compensating.done' }),
            done: { type: 'final' },
          },
          onDone: 'aborted',
        },
        aborted: { type: 'final' },
      },
      // Only the shape is drawn here: the actions and guards the states name need not exist.
    } as never) as unknown as AnyStateMachine;
    const steps = stepGraph(machineGraph(transfer));
    expect(steps.nodes.map((node) => node.id)).toEqual([
      'started',
      'debited',
      'credited',
      'compensating.uncredit',
      'compensating.undebit',
      'aborted',
    ]);
    expect(steps.edges.map((edge) => `${edge.source}>${edge.target}`)).toEqual(
      expect.arrayContaining(['compensating.uncredit>compensating.undebit', 'compensating.undebit>aborted']),
    );
    expect(steps.nodes.find((node) => node.id === 'debited')?.step).toBe('credit');
  });

  it('has committed docs/machines that match what `npm run machines:export` writes', () => {
    const docs = machineDocs(registerSaga, 'src/machines/register-machine.ts');
    const markdown = readFileSync(new URL(`../../docs/machines/${docs.type}.md`, import.meta.url), 'utf8');
    expect(markdown, `docs/machines/${docs.type}.md is stale: run npm run machines:export`).toBe(
      docs.markdown,
    );
  });
});
