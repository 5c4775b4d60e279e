/**
 * What leaked: objects and bytes added per disconnect, by group, between two heap snapshots. Pure: the
 * caller reads the snapshots; this ranks what they say.
 */
export interface GroupCounts {
  count: number;
  bytes: number;
}

export interface RetainedGroup {
  /** Constructor name, or a bracketed kind of V8 internal: '(closure …)', '(string)', '(compiled code)'. */
  group: string;
  count: number;
  bytes: number;
  countPerDisconnect: number;
  bytesPerDisconnect: number;
  /** Shortest path from the GC roots to the newest object of the group, when it was looked up. */
  retainerPath?: string[];
}

/** Groups that say what leaked; the bracketed ones only say how V8 stores it. */
export function isNamedGroup(group: string): boolean {
  return !group.startsWith('(') && !group.startsWith('system') && !NODE_PLUMBING.has(group);
}

/** Constructors every Node server has plenty of: they say how data is held, not which code holds it. */
const NODE_PLUMBING = new Set(['Object', 'Array', 'Buffer', 'ArrayBuffer', 'Uint8Array', 'Map', 'Set', 'Promise', 'WeakRef']);

/**
 * A group counts as retained per disconnect when it grew by at least this share of an object per
 * disconnect, or carries at least MIN_SHARE_OF_GROWTH of the bytes that grew: a leak adds whole objects
 * per disconnect (1.00 ResponseStreamer); code and caches add a scatter.
 */
export const MIN_COUNT_PER_DISCONNECT = 0.5;
export const MIN_SHARE_OF_GROWTH = 0.05;

/** V8-internal groups shown after the named ones: enough to see where the bytes are. */
const INTERNAL_GROUPS_SHOWN = 5;

export function diffGroups(
  before: ReadonlyMap<string, GroupCounts>,
  after: ReadonlyMap<string, GroupCounts>,
  disconnects: number,
  top = 20,
): RetainedGroup[] {
  const per = Math.max(1, disconnects);
  const grown: RetainedGroup[] = [];
  let totalBytes = 0;
  for (const [group, stats] of after) {
    const count = stats.count - (before.get(group)?.count ?? 0);
    const bytes = stats.bytes - (before.get(group)?.bytes ?? 0);
    if (bytes <= 0 || count <= 0) continue;
    totalBytes += bytes;
    grown.push({ group, count, bytes, countPerDisconnect: count / per, bytesPerDisconnect: bytes / per });
  }
  const kept = grown
    .filter((g) => g.countPerDisconnect >= MIN_COUNT_PER_DISCONNECT || g.bytes >= MIN_SHARE_OF_GROWTH * totalBytes)
    .sort((a, b) => b.bytes - a.bytes);
  // The program's own constructors first (ResponseStreamer, Channel: what an engineer can act on),
  // then how V8 stores the rest (buffers, arrays, closures), each by bytes.
  const named = kept.filter((g) => isNamedGroup(g.group)).slice(0, top);
  const internal = kept.filter((g) => !isNamedGroup(g.group)).slice(0, INTERNAL_GROUPS_SHOWN);
  return [...named, ...internal];
}
