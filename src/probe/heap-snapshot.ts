/**
 * Reads a V8 heap snapshot (.heapsnapshot, the format of v8.writeHeapSnapshot and Chrome DevTools) into
 * what attribution needs: objects and bytes per group (constructor name, or the kind of V8 internal),
 * and the shortest path from the GC roots to an object of a given group. Written here rather than taken
 * from npm: the parsers there (memlab's among them) pull in far more than these two questions need.
 */
import { readFile } from 'node:fs/promises';

export interface GroupStats {
  count: number;
  bytes: number;
}

export interface ParsedSnapshot {
  groups: Map<string, GroupStats>;
  /** Shortest retainer path from the GC roots to the newest object of `group`, as readable steps. */
  retainerPath(group: string): string[] | null;
}

interface RawSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** The group an object counts in: its constructor for JS objects, a bracketed kind for V8 internals. */
function groupOf(type: string, name: string): string | null {
  switch (type) {
    case 'object':
      return name;
    case 'closure':
      return `(closure ${name || 'anonymous'})`;
    case 'string':
    case 'concatenated string':
    case 'sliced string':
      return '(string)';
    case 'array':
      return '(array)';
    case 'code':
      return '(compiled code)';
    case 'hidden':
    case 'object shape':
      return '(V8 internal)';
    case 'regexp':
      return 'RegExp';
    case 'number':
    case 'heap number':
      return '(number)';
    case 'native':
      return name || '(native)';
    case 'synthetic':
      return null;
    default:
      return `(${type})`;
  }
}

export async function readHeapSnapshot(file: string): Promise<ParsedSnapshot> {
  const raw = JSON.parse(await readFile(file, 'utf8')) as RawSnapshot;
  return parseHeapSnapshot(raw);
}

export function parseHeapSnapshot(raw: RawSnapshot): ParsedSnapshot {
  const meta = raw.snapshot.meta;
  const nodeFieldCount = meta.node_fields.length;
  const edgeFieldCount = meta.edge_fields.length;
  const typeField = meta.node_fields.indexOf('type');
  const nameField = meta.node_fields.indexOf('name');
  const sizeField = meta.node_fields.indexOf('self_size');
  const edgeCountField = meta.node_fields.indexOf('edge_count');
  const idField = meta.node_fields.indexOf('id');
  const edgeTypeField = meta.edge_fields.indexOf('type');
  const edgeNameField = meta.edge_fields.indexOf('name_or_index');
  const edgeToField = meta.edge_fields.indexOf('to_node');
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const { nodes, edges, strings } = raw;
  const nodeCount = nodes.length / nodeFieldCount;

  const groupNames: (string | null)[] = new Array(nodeCount);
  const groups = new Map<string, GroupStats>();
  const firstEdge = new Uint32Array(nodeCount + 1);
  for (let n = 0, edge = 0; n < nodeCount; n++) {
    const base = n * nodeFieldCount;
    firstEdge[n] = edge;
    edge += nodes[base + edgeCountField]! * edgeFieldCount;
    const group = groupOf(nodeTypes[nodes[base + typeField]!]!, strings[nodes[base + nameField]!] ?? '');
    groupNames[n] = group;
    if (group === null) continue;
    const stats = groups.get(group) ?? { count: 0, bytes: 0 };
    stats.count++;
    stats.bytes += nodes[base + sizeField]!;
    groups.set(group, stats);
  }
  firstEdge[nodeCount] = edges.length;

  let parents: Int32Array | null = null;
  let parentEdge: Int32Array | null = null;
  /** Breadth-first from the root over strong edges: parent pointers give shortest retainer paths. */
  const walk = () => {
    parents = new Int32Array(nodeCount).fill(-1);
    parentEdge = new Int32Array(nodeCount).fill(-1);
    const queue = new Int32Array(nodeCount);
    let head = 0;
    let tail = 0;
    queue[tail++] = 0;
    parents[0] = 0;
    while (head < tail) {
      const n = queue[head++]!;
      for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += edgeFieldCount) {
        const edgeType = edgeTypes[edges[e + edgeTypeField]!];
        if (edgeType === 'weak' || edgeType === 'shortcut') continue;
        const to = edges[e + edgeToField]! / nodeFieldCount;
        if (parents[to] !== -1) continue;
        parents[to] = n;
        parentEdge[to] = e;
        queue[tail++] = to;
      }
    }
  };

  const label = (n: number) => {
    const base = n * nodeFieldCount;
    const type = nodeTypes[nodes[base + typeField]!]!;
    const name = strings[nodes[base + nameField]!] ?? '';
    if (n === 0) return '(GC roots)';
    if (type === 'synthetic') return name;
    if (type === 'closure') return `${name || 'anonymous'}()`;
    if (type === 'object' || type === 'native') return name;
    return `(${type})`;
  };
  const edgeLabel = (e: number) => {
    const type = edgeTypes[edges[e + edgeTypeField]!];
    const nameOrIndex = edges[e + edgeNameField]!;
    if (type === 'element' || type === 'hidden') return `[${nameOrIndex}]`;
    return String(strings[nameOrIndex] ?? nameOrIndex);
  };

  return {
    groups,
    retainerPath(group: string): string[] | null {
      if (!parents) walk();
      // The newest reachable object of the group (ids grow with allocation).
      let best = -1;
      let bestId = -1;
      for (let n = 0; n < nodeCount; n++) {
        if (groupNames[n] !== group || parents![n] === -1) continue;
        const id = nodes[n * nodeFieldCount + idField]!;
        if (id > bestId) {
          bestId = id;
          best = n;
        }
      }
      if (best < 0) return null;
      const steps: string[] = [];
      for (let n = best, guard = 0; n !== 0 && guard < 100; n = parents![n]!, guard++) {
        steps.unshift(`${edgeLabel(parentEdge![n]!)} → ${label(n)}`);
      }
      // Start at the first step a person would recognise: drop the synthetic root chain's prefix.
      return [label(0), ...steps];
    },
  };
}
