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

interface SnapshotMeta {
  node_fields: string[];
  node_types: [string[], ...unknown[]];
  edge_fields: string[];
  edge_types: [string[], ...unknown[]];
}

/** The parts of a snapshot that attribution reads, numbers in typed arrays. */
export interface RawSnapshot {
  snapshot: { meta: SnapshotMeta };
  nodes: ArrayLike<number>;
  edges: ArrayLike<number>;
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
  return parseHeapSnapshot(splitHeapSnapshot(await readFile(file), file));
}

/**
 * The snapshot's sections read straight from its bytes: the node and edge numbers into typed arrays,
 * only the small header and the strings through JSON.parse. JSON.parse of the whole file held the text
 * and every number as a JS value at once, over 350 MB for a 59 MB file (docs/measurements.md#heap-snapshot);
 * this way the bytes, 8 bytes per node field and 4 per edge field are all there is.
 */
export function splitHeapSnapshot(bytes: Buffer, file = 'the heap snapshot'): RawSnapshot {
  const fail = (what: string): never => {
    throw new Error(`${file} is not a V8 heap snapshot: ${what}`);
  };
  const nodesKey = bytes.indexOf('"nodes":[');
  if (nodesKey < 0) fail('no "nodes" array');
  let header: { snapshot?: { meta?: SnapshotMeta; node_count?: number; edge_count?: number } };
  try {
    header = JSON.parse(`${bytes.toString('utf8', 0, nodesKey).replace(/,\s*$/, '')}}`) as typeof header;
  } catch {
    return fail('its header is not JSON');
  }
  const meta = header.snapshot?.meta;
  if (!meta?.node_fields || !meta.edge_fields || !meta.node_types || !meta.edge_types) return fail('no "snapshot.meta"');
  const nodes = readNumbers(bytes, nodesKey + '"nodes":['.length, header.snapshot?.node_count, meta.node_fields.length, Float64Array, fail);
  const edgesKey = bytes.indexOf('"edges":[', nodes.end);
  if (edgesKey < 0) fail('no "edges" array');
  const edges = readNumbers(bytes, edgesKey + '"edges":['.length, header.snapshot?.edge_count, meta.edge_fields.length, Uint32Array, fail);
  const stringsKey = bytes.indexOf('"strings":[', edges.end);
  if (stringsKey < 0) fail('no "strings" array');
  const stringsEnd = bytes.lastIndexOf(']');
  let strings: string[];
  try {
    strings = JSON.parse(bytes.toString('utf8', stringsKey + '"strings":'.length, stringsEnd + 1)) as string[];
  } catch {
    return fail('its "strings" are not a JSON array');
  }
  return { snapshot: { meta }, nodes: nodes.values, edges: edges.values, strings };
}

/**
 * Non-negative integers from `from` up to the closing bracket. The header's count (records × fields)
 * sizes the array when V8 gave it; otherwise it grows by doubling.
 */
function readNumbers<T extends Float64Array | Uint32Array>(
  bytes: Buffer,
  from: number,
  records: number | undefined,
  fields: number,
  kind: { new (length: number): T },
  fail: (what: string) => never,
): { values: T; end: number } {
  let values = new kind(records !== undefined ? records * fields : 1 << 16);
  let count = 0;
  let value = 0;
  let inNumber = false;
  for (let i = from; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      inNumber = true;
      continue;
    }
    if (inNumber) {
      if (count === values.length) {
        const grown = new kind(values.length * 2);
        grown.set(values);
        values = grown;
      }
      values[count++] = value;
      value = 0;
      inNumber = false;
    }
    if (c === 93 /* ] */) return { values: count === values.length ? values : (values.subarray(0, count) as T), end: i + 1 };
    if (c !== 44 /* , */ && c !== 10 && c !== 13 && c !== 32 && c !== 9) fail(`unexpected "${String.fromCharCode(c)}" at byte ${i}`);
  }
  return fail('it ends inside a number array');
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

  // Each node's group as an index into groupList (-1: counted in none), not a string per node.
  const nodeGroup = new Int32Array(nodeCount);
  const groupIndex = new Map<string, number>();
  const groupList: GroupStats[] = [];
  const groups = new Map<string, GroupStats>();
  const firstEdge = new Uint32Array(nodeCount + 1);
  for (let n = 0, edge = 0; n < nodeCount; n++) {
    const base = n * nodeFieldCount;
    firstEdge[n] = edge;
    edge += nodes[base + edgeCountField]! * edgeFieldCount;
    const group = groupOf(nodeTypes[nodes[base + typeField]!]!, strings[nodes[base + nameField]!] ?? '');
    if (group === null) {
      nodeGroup[n] = -1;
      continue;
    }
    let index = groupIndex.get(group);
    if (index === undefined) {
      index = groupList.length;
      groupIndex.set(group, index);
      groupList.push({ count: 0, bytes: 0 });
      groups.set(group, groupList[index]!);
    }
    nodeGroup[n] = index;
    const stats = groupList[index]!;
    stats.count++;
    stats.bytes += nodes[base + sizeField]!;
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
      const wanted = groupIndex.get(group);
      if (wanted === undefined) return null;
      let best = -1;
      let bestId = -1;
      for (let n = 0; n < nodeCount; n++) {
        if (nodeGroup[n] !== wanted || parents![n] === -1) continue;
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
