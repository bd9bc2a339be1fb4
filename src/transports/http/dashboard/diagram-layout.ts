import type { StepGraph } from '../../../machines/machine-graph.js';

export interface PlacedNode {
  readonly id: string;
  readonly label: string;
  readonly step: string | null;
  readonly final: boolean;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface PlacedGroup {
  readonly id: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface PlacedEdge {
  readonly source: string;
  readonly target: string;
  readonly label: string;
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
}

export interface DiagramLayout {
  readonly width: number;
  readonly height: number;
  readonly initial: string;
  readonly nodes: PlacedNode[];
  readonly groups: PlacedGroup[];
  readonly edges: PlacedEdge[];
}

const NODE_W = 170;
const NODE_H = 46;
const COLUMN = 250;
const ROW = 130;
const MARGIN = 40;
const GROUP_PAD = 16;

/** Where a segment from a box's centre towards (tx, ty) leaves the box. */
function border(node: PlacedNode, tx: number, ty: number): [number, number] {
  const cx = node.x + node.width / 2;
  const cy = node.y + node.height / 2;
  const dx = tx - cx;
  const dy = ty - cy;
  if (dx === 0 && dy === 0) return [cx, cy];
  const scale = Math.min(
    dx === 0 ? Number.POSITIVE_INFINITY : node.width / 2 / Math.abs(dx),
    dy === 0 ? Number.POSITIVE_INFINITY : node.height / 2 / Math.abs(dy),
  );
  return [cx + dx * scale, cy + dy * scale];
}

/**
 * Places the step view of a machine on a grid: columns by the longest path from the initial state (so
 * every transition points right), rows by group (top-level states first, then each compound state such
 * as `compensating` on its own row); a final state sits on the row of the states leading to it.
 */
export function layoutSteps(graph: StepGraph): DiagramLayout {
  const rank = new Map<string, number>([[graph.initial, 0]]);
  for (let pass = 0; pass < graph.nodes.length; pass++) {
    let changed = false;
    for (const edge of graph.edges) {
      const from = rank.get(edge.source);
      if (from === undefined) continue;
      if ((rank.get(edge.target) ?? -1) < from + 1) {
        rank.set(edge.target, from + 1);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const groups = [...new Set(graph.nodes.map((node) => node.group).filter((group) => group !== null))];
  const row = new Map<string, number>();
  for (const node of graph.nodes)
    if (!node.final) row.set(node.id, node.group === null ? 0 : 1 + groups.indexOf(node.group));
  for (const node of graph.nodes) {
    if (!node.final) continue;
    const sources = graph.edges
      .filter((edge) => edge.target === node.id)
      .map((edge) => row.get(edge.source) ?? 0);
    row.set(node.id, sources.length === 0 ? 0 : Math.max(...sources));
  }

  const nodes: PlacedNode[] = graph.nodes.map((node) => ({
    id: node.id,
    label: node.key,
    step: node.step,
    final: node.final,
    x: MARGIN + (rank.get(node.id) ?? 0) * COLUMN,
    y: MARGIN + (row.get(node.id) ?? 0) * ROW,
    width: NODE_W,
    height: NODE_H,
  }));
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const placedGroups: PlacedGroup[] = groups.map((group) => {
    const members = graph.nodes.filter((node) => node.group === group).map((node) => byId.get(node.id)!);
    const left = Math.min(...members.map((node) => node.x)) - GROUP_PAD;
    const top = Math.min(...members.map((node) => node.y)) - GROUP_PAD;
    const right = Math.max(...members.map((node) => node.x + node.width)) + GROUP_PAD;
    // Room for the group's name under its states, clear of the edges coming in from above.
    const bottom = Math.max(...members.map((node) => node.y + node.height)) + GROUP_PAD + 14;
    return { id: group, x: left, y: top, width: right - left, height: bottom - top };
  });
  const edges: PlacedEdge[] = graph.edges.map((edge) => {
    const source = byId.get(edge.source)!;
    const target = byId.get(edge.target)!;
    const [x1, y1] = border(source, target.x + target.width / 2, target.y + target.height / 2);
    const [x2, y2] = border(target, source.x + source.width / 2, source.y + source.height / 2);
    return { source: edge.source, target: edge.target, label: edge.labels.join(' / '), x1, y1, x2, y2 };
  });
  const width = Math.max(...nodes.map((node) => node.x + node.width)) + MARGIN;
  const height = Math.max(...nodes.map((node) => node.y + node.height)) + MARGIN;
  return { width, height, initial: graph.initial, nodes, groups: placedGroups, edges };
}
