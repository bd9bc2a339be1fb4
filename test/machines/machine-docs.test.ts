import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fullMermaid, inertSagaMachine, machineDocs, stepsMermaid } from '../../src/machines/machine-docs.js';
import { machineGraph, stepGraph } from '../../src/machines/machine-graph.js';
import { registerSaga } from '../../src/machines/register-saga.js';
import { sagaDefinitions } from '../../src/machines/saga-catalog.js';
import type { SagaDefinition } from '../../src/machines/saga-definition.js';

const register = registerSaga as SagaDefinition<unknown, unknown>;
const noop = async () => ({ outcome: 'done' as const, value: null });

describe('machine graph and docs', () => {
  it('reads the register machine’s steps and transitions from the machine object', () => {
    const mermaid = stepsMermaid(stepGraph(machineGraph(inertSagaMachine(register))));
    const lines = mermaid.split('\n').map((line) => line.trim());
    expect(lines[0]).toBe('stateDiagram-v2');
    expect(lines).toContain('[*] --> pending');
    expect(lines).toContain('pending --> userSaved: saveUser done [succeeded]');
    expect(lines).toContain('userSaved --> scoreSaved: saveUserScore done [succeeded]');
    expect(lines).toContain(
      'userSaved --> compensating_saveUserScoreCallback: saveUserScore done [refused] / saveUserScore done [outOfTime]',
    );
    expect(lines).toContain(
      'compensating_saveUserScoreCallback --> compensating_saveUserCallback: saveUserScoreCallback done [succeeded]',
    );
    expect(lines).toContain('compensating_saveUserCallback --> aborted: saveUserCallback done [succeeded]');
    expect(lines).toContain('scoreSaved --> [*]');
    expect(lines).toContain('aborted --> [*]');
    expect(lines).not.toContain('scoreSaved --> aborted');
  });

  it('shows every state with its retries in the full diagram', () => {
    const graph = machineGraph(inertSagaMachine(register));
    expect(graph.finals).toEqual(['scoreSaved', 'aborted']);
    expect(graph.initial).toBe('pending');
    const lines = fullMermaid(graph)
      .split('\n')
      .map((line) => line.trim());
    expect(lines).toContain('pending_waiting --> pending_calling: RETRY_NOW');
    expect(lines).toContain('pending_calling --> pending_waiting: saveUser error');
    expect(lines).toContain('state "calling (invokes saveUser)" as pending_calling');
  });

  it('derives the graph of any saga definition, not only register', () => {
    const transfer: SagaDefinition<unknown, unknown> = {
      type: 'transfer',
      version: 1,
      initialState: 'started',
      steps: ['debit', 'credit', 'notify'].map((name, index) => ({
        name,
        branchId: `0${index + 1}`,
        doneState: `${name}ed`,
        action: noop,
        compensation: { name: `un${name}`, run: noop },
      })),
      redactInput: (input) => input,
    };
    const steps = stepGraph(machineGraph(inertSagaMachine(transfer)));
    expect(steps.nodes.map((node) => node.id)).toEqual([
      'started',
      'debited',
      'credited',
      'notifyed',
      'compensating.undebit',
      'compensating.uncredit',
      'compensating.unnotify',
      'aborted',
    ]);
    expect(steps.edges.map((edge) => `${edge.source}>${edge.target}`)).toContain(
      'compensating.unnotify>compensating.uncredit',
    );
    expect(steps.nodes.find((node) => node.id === 'credited')?.step).toBe('notify');
  });

  it('has committed docs/machines that match what `npm run machines:export` writes', () => {
    for (const definition of sagaDefinitions) {
      const docs = machineDocs(definition);
      const json = readFileSync(new URL(`../../docs/machines/${docs.type}.json`, import.meta.url), 'utf8');
      const markdown = readFileSync(new URL(`../../docs/machines/${docs.type}.md`, import.meta.url), 'utf8');
      expect(json, `docs/machines/${docs.type}.json is stale: run npm run machines:export`).toBe(docs.json);
      expect(markdown, `docs/machines/${docs.type}.md is stale: run npm run machines:export`).toBe(
        docs.markdown,
      );
      expect(JSON.parse(json)).toMatchObject({ id: docs.type, initial: definition.initialState });
    }
  });
});
