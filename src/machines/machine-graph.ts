import { type DirectedGraphNode, toDirectedGraph } from '@xstate/graph';
import type { AnyStateMachine } from 'xstate';

/**
 * A machine's states and transitions as plain data, read from the XState machine object itself through
 * `@xstate/graph`, never drawn by hand: `npm run machines:export` turns it into
 * Mermaid, the dashboard into an SVG.
 */
export interface GraphNode {
  /** Dotted path below the machine, e.g. `pending.calling`. */
  readonly id: string;
  readonly key: string;
  readonly parent: string | null;
  readonly kind: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  /** The child entered first (a path), for compound states. */
  readonly initial: string | null;
  /** The actors this state invokes (`src`), e.g. `saveUser` or `sleepUntil`. */
  readonly invokes: readonly string[];
}

export interface GraphEdge {
  readonly source: string;
  readonly target: string;
  /** The event as XState names it (`xstate.done.actor.saveUser`, `RETRY_NOW`). */
  readonly event: string;
  readonly guard: string | null;
  /** A short human label: `saveUser done [succeeded]`. */
  readonly label: string;
}

export interface MachineGraph {
  readonly id: string;
  readonly initial: string;
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
  readonly finals: readonly string[];
}

function guardName(guard: unknown): string | null {
  if (guard === undefined || guard === null) return null;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && typeof (guard as { type?: unknown }).type === 'string') {
    return (guard as { type: string }).type;
  }
  return 'guard';
}

function eventLabel(event: string): string {
  const done = /^xstate\.done\.actor\.(.+)$/.exec(event);
  if (done) return `${done[1]} done`;
  const error = /^xstate\.error\.actor\.(.+)$/.exec(event);
  if (error) return `${error[1]} error`;
  if (event.startsWith('xstate.done.state.')) return 'done';
  return event;
}

/** XState's own directed graph of the machine (`@xstate/graph`), flattened to plain data. */
export function machineGraph(machine: AnyStateMachine): MachineGraph {
  const root = toDirectedGraph(machine);
  const prefix = `${root.id}.`;
  const pathOf = (id: string) => (id.startsWith(prefix) ? id.slice(prefix.length) : id);
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];

  const visit = (node: DirectedGraphNode, parent: string | null) => {
    const { stateNode } = node;
    const id = pathOf(node.id);
    const initialTarget = stateNode.initial?.target[0];
    nodes.push({
      id,
      key: stateNode.key,
      parent,
      kind: stateNode.type,
      initial: stateNode.type === 'compound' && initialTarget ? pathOf(initialTarget.id) : null,
      invokes: stateNode.invoke.map((invoke) => String(invoke.src)),
    });
    for (const edge of node.edges) {
      const event = edge.transition.eventType;
      const guard = guardName(edge.transition.guard);
      edges.push({
        source: id,
        target: pathOf(edge.target.id),
        event,
        guard,
        label: `${eventLabel(event)}${guard ? ` [${guard}]` : ''}`,
      });
    }
    for (const child of node.children) visit(child, id);
  };
  for (const child of root.children) visit(child, null);

  const initial = root.stateNode.initial?.target[0];
  return {
    id: root.id,
    initial: initial ? pathOf(initial.id) : (nodes[0]?.id ?? ''),
    nodes,
    edges,
    finals: nodes.filter((node) => node.kind === 'final' && node.parent === null).map((node) => node.id),
  };
}

/** A state of the step-level view: one per step a saga runs (its calling/waiting folded in), plus finals. */
export interface StepNode {
  readonly id: string;
  readonly key: string;
  /** The compound state grouping it (`compensating`), if any. */
  readonly group: string | null;
  /** The step it runs (the actor its inner states invoke), or null for a final state. */
  readonly step: string | null;
  readonly final: boolean;
}

export interface StepEdge {
  readonly source: string;
  readonly target: string;
  readonly labels: readonly string[];
}

export interface StepGraph {
  readonly id: string;
  readonly initial: string;
  readonly nodes: readonly StepNode[];
  readonly edges: readonly StepEdge[];
}

/**
 * Folds each state whose children are all atomic (a saga step's `calling` ⇄ `waiting`) into one node,
 * and drops the transitions inside it (retries): the view an operator reads a saga's path on. A final
 * state inside a group (`compensating.done`) is where the group's own done transition leaves from: a step
 * that reaches it is drawn going straight to that transition's target (`aborted`).
 */
export function stepGraph(graph: MachineGraph): StepGraph {
  const byId = new Map(graph.nodes.map((node) => [node.id, node]));
  const children = (id: string) => graph.nodes.filter((node) => node.parent === id);
  const groupDone = new Map(
    graph.edges
      .filter((edge) => edge.event.startsWith('xstate.done.state.'))
      .map((edge) => [edge.source, edge.target]),
  );
  const innerFinal = (node: GraphNode) =>
    node.kind === 'final' && node.parent !== null && groupDone.has(node.parent);
  const folds = (node: GraphNode) =>
    (node.kind === 'final' && !innerFinal(node)) ||
    (node.kind === 'compound' && children(node.id).every((child) => child.kind === 'atomic'));

  /** The folded node standing for a state: itself, an ancestor, or (for a compound target) its initial. */
  const representative = (id: string): string | null => {
    let node = byId.get(id);
    if (node && innerFinal(node)) return representative(groupDone.get(node.parent as string) as string);
    for (let up = node; up; up = up.parent === null ? undefined : byId.get(up.parent)) {
      if (folds(up)) return up.id;
    }
    while (node && !folds(node) && node.initial) node = byId.get(node.initial);
    return node && folds(node) ? node.id : null;
  };

  const nodes: StepNode[] = graph.nodes.filter(folds).map((node) => {
    const invoked = children(node.id).flatMap((child) => child.invokes);
    return {
      id: node.id,
      key: node.key,
      group: node.parent,
      // The step is the actor a child invokes that is not a timer: the first one listed.
      step: node.kind === 'final' ? null : (invoked[0] ?? null),
      final: node.kind === 'final',
    };
  });

  const edges = new Map<string, { source: string; target: string; labels: string[] }>();
  for (const edge of graph.edges) {
    if (groupDone.has(edge.source) && edge.event.startsWith('xstate.done.state.')) continue;
    const source = representative(edge.source);
    const target = representative(edge.target);
    if (source === null || target === null || source === target) continue;
    const key = `${source}\u0000${target}`;
    const entry = edges.get(key) ?? { source, target, labels: [] };
    if (!entry.labels.includes(edge.label)) entry.labels.push(edge.label);
    edges.set(key, entry);
  }
  return {
    id: graph.id,
    initial: representative(graph.initial) ?? graph.initial,
    nodes,
    edges: [...edges.values()],
  };
}
