import { describe, expect, it } from 'vitest';
import { machineGraph, stepGraph } from '../../../src/machines/machine-graph.js';
import { registerMachine } from '../../../src/machines/register-machine.js';
import { layoutSteps } from '../../../src/transports/http/dashboard/diagram-layout.js';

const layout = layoutSteps(stepGraph(machineGraph(registerMachine)));
const node = (id: string) => layout.nodes.find((candidate) => candidate.id === id)!;

describe('diagram layout', () => {
  it('puts the forward steps on one row and the compensations, inside their group, on the next', () => {
    expect(new Set(['pending', 'userSaved', 'scoreSaved'].map((id) => node(id).y)).size).toBe(1);
    const compensations = ['compensating.saveUserScoreCallback', 'compensating.saveUserCallback', 'aborted'];
    expect(new Set(compensations.map((id) => node(id).y)).size).toBe(1);
    expect(node('aborted').y).toBeGreaterThan(node('pending').y);
    const [group] = layout.groups;
    expect(group?.id).toBe('compensating');
    for (const id of compensations.slice(0, 2)) {
      expect(node(id).x).toBeGreaterThanOrEqual(group!.x);
      expect(node(id).x + node(id).width).toBeLessThanOrEqual(group!.x + group!.width);
    }
  });

  it('points every transition to the right, with no two states in one place, inside the drawing', () => {
    for (const edge of layout.edges)
      expect(edge.x2, `${edge.source}>${edge.target}`).toBeGreaterThan(edge.x1);
    const places = layout.nodes.map((placed) => `${placed.x},${placed.y}`);
    expect(new Set(places).size).toBe(places.length);
    for (const placed of layout.nodes) {
      expect(placed.x + placed.width).toBeLessThanOrEqual(layout.width);
      expect(placed.y + placed.height).toBeLessThanOrEqual(layout.height);
    }
  });
});
