/**
 * What leaked in a Go server: goroutines added between two goroutine dumps, by blocking state and the
 * place in the program where they wait. Pure: the probe reads and groups the dumps; this ranks the growth.
 */
import { GO_GOROUTINES } from './thresholds.js';

/** Goroutines of one dump that wait in the same state at the same place. */
export interface GoroutineGroup {
  /** Why the goroutine is parked, as the runtime says it ('chan send', 'select', 'IO wait'), minus its duration. */
  state: string;
  /** The first frame that belongs to the program, or the innermost frame when none does. */
  function: string;
  /** That frame's file base name and line: 'main.go:100'. */
  location: string;
  /** Whether `function` is the program's own code (not the runtime's or the standard library's). */
  inProgram: boolean;
  count: number;
  /** One goroutine's stack, innermost first, as 'function at file:line' (the first few frames). */
  stack: string[];
  /** 'function at file:line' of the go statement that started it, when the dump says. */
  createdBy: string | null;
}

export interface GrownGoroutineGroup extends Omit<GoroutineGroup, 'count'> {
  /** Goroutines added between the two dumps. */
  count: number;
  countPerDisconnect: number;
}

/** The identity of a group across dumps: state, function and place. */
export function goroutineGroupKey(group: Pick<GoroutineGroup, 'state' | 'function' | 'location'>): string {
  return `[${group.state}] ${group.function} at ${group.location}`;
}

/**
 * A group is reported when it grew by at least the rate at which the goroutine verdict calls a leak
 * (GO_GOROUTINES: 0.02 per disconnect) and by more than that verdict's noise floor (3): an HTTP client's
 * idle keep-alive pool holds up to 2 connections per host, each with a read and a write loop, so a clean
 * server can end a scenario with 2 more goroutines in each of those two groups than it began with.
 */
export const MIN_GROUP_COUNT_PER_DISCONNECT = GO_GOROUTINES.leakPerDisconnect;
export const MIN_GROUP_COUNT = GO_GOROUTINES.noiseFloor + 1;

/** Groups outside the program shown after the program's own: enough to see the connections it holds. */
const LIBRARY_GROUPS_SHOWN = 5;

export function diffGoroutineGroups(
  before: readonly GoroutineGroup[],
  after: readonly GoroutineGroup[],
  disconnects: number,
  top = 10,
): GrownGoroutineGroup[] {
  return diffWaitGroups(before, after, disconnects, { minCount: MIN_GROUP_COUNT, minCountPerDisconnect: MIN_GROUP_COUNT_PER_DISCONNECT, top });
}

/**
 * Groups of waiters (goroutines, asyncio tasks: the same shape) that grew between two reads, by at least
 * `minCount` and `minCountPerDisconnect`: the program's own groups first, then up to five of the
 * libraries', each by growth.
 */
export function diffWaitGroups<G extends GoroutineGroup>(
  before: readonly GoroutineGroup[],
  after: readonly G[],
  disconnects: number,
  limits: { minCount: number; minCountPerDisconnect: number; top: number },
): Array<Omit<G, 'count'> & { count: number; countPerDisconnect: number }> {
  const { minCount, minCountPerDisconnect, top } = limits;
  const per = Math.max(1, disconnects);
  const countBefore = new Map<string, number>();
  for (const group of before) {
    const key = goroutineGroupKey(group);
    countBefore.set(key, (countBefore.get(key) ?? 0) + group.count);
  }
  type Grown = Omit<G, 'count'> & { count: number; countPerDisconnect: number };
  const grown: Grown[] = [];
  for (const group of after) {
    const count = group.count - (countBefore.get(goroutineGroupKey(group)) ?? 0);
    if (count < minCount || count / per < minCountPerDisconnect) continue;
    grown.push({ ...group, count, countPerDisconnect: count / per });
  }
  // Ties in a stable order, whatever order the dump listed the goroutines in.
  const byKey = (a: Grown, b: Grown) => (goroutineGroupKey(a) < goroutineGroupKey(b) ? -1 : 1);
  grown.sort((a, b) => b.count - a.count || byKey(a, b));
  // The program's own code first (where an engineer can act: the unguarded send), then what the
  // standard library holds for it (the upstream connection's read and write loops), each by count.
  const own = grown.filter((g) => g.inProgram).slice(0, top);
  const library = grown.filter((g) => !g.inProgram).slice(0, LIBRARY_GROUPS_SHOWN);
  return [...own, ...library];
}
