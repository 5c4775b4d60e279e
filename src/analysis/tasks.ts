/**
 * What leaked in a Python server: asyncio tasks added between two reads of its agent, by where they
 * wait; the object types that grew; tracemalloc's allocation sites that grew. Pure: the probe reads and
 * merges; this ranks the growth.
 */
import { MIN_COUNT_PER_DISCONNECT } from './attribution.js';
import { diffWaitGroups, type GoroutineGroup, type GrownGoroutineGroup } from './goroutines.js';
import { PY_PENDING_TASKS, PY_TRACED } from './thresholds.js';

/**
 * Pending tasks that wait in the same state at the same place: the goroutine group's shape, with the
 * state the library call a task is parked in (`Queue.put`, `sleep`) and `createdBy` the program's frame
 * in its coroutine's cr_origin.
 */
export interface TaskGroup extends GoroutineGroup {
  /** The source line at `location` ('await queue.put(chunk)'); null when the agent could not read it. */
  code: string | null;
  /** The source line at `createdBy` ('producer = asyncio.create_task(produce(queue, request_id))'). */
  createdByCode: string | null;
}
export interface GrownTaskGroup extends GrownGoroutineGroup {
  code: string | null;
  createdByCode: string | null;
}

export interface GrownObjectType {
  /** 'dict', '_asyncio.Task', 'asyncio.queues.Queue' */
  type: string;
  count: number;
  countPerDisconnect: number;
}

export interface TracedLine {
  file: string;
  line: number;
  bytes: number;
  blocks: number;
}

export interface GrownTracedLine extends TracedLine {
  /** 'app.py:57' */
  location: string;
  bytesPerDisconnect: number;
}

/**
 * A task group is listed when it grew by at least the rate at which the verdict calls pending tasks a
 * leak (0.02 per disconnect) and by more than that verdict's noise floor: the idle tasks of a few
 * keep-alive connections still closing must not read as leaked.
 */
export const MIN_TASK_GROUP_COUNT_PER_DISCONNECT = PY_PENDING_TASKS.leakPerDisconnect;
export const MIN_TASK_GROUP_COUNT = PY_PENDING_TASKS.noiseFloor + 1;

export function diffTaskGroups(before: readonly TaskGroup[], after: readonly TaskGroup[], disconnects: number, top = 10): GrownTaskGroup[] {
  return diffWaitGroups(before, after, disconnects, { minCount: MIN_TASK_GROUP_COUNT, minCountPerDisconnect: MIN_TASK_GROUP_COUNT_PER_DISCONNECT, top });
}

/**
 * Object types that grew by at least half an object per disconnect, as heap-snapshot groups are
 * counted (a leak adds whole objects per disconnect: a Task, its coroutine, its Future; caches a scatter).
 */
export function diffObjectTypes(
  before: Readonly<Record<string, number>>,
  after: Readonly<Record<string, number>>,
  disconnects: number,
  top = 10,
): GrownObjectType[] {
  const per = Math.max(1, disconnects);
  const grown: GrownObjectType[] = [];
  for (const [type, count] of Object.entries(after)) {
    const added = count - (before[type] ?? 0);
    if (added <= 0 || added / per < MIN_COUNT_PER_DISCONNECT) continue;
    grown.push({ type, count: added, countPerDisconnect: added / per });
  }
  return grown.sort((a, b) => b.count - a.count || (a.type < b.type ? -1 : 1)).slice(0, top);
}

/**
 * An allocation site is listed when what it holds grew by at least a quarter of the traced-memory leak
 * rate per disconnect (32 B): under a leak the sites that keep its objects; a clean server's caches
 * grow far slower than that over a scenario.
 */
export const MIN_TRACED_BYTES_PER_DISCONNECT = PY_TRACED.leakPerDisconnect / 4;

export function diffTracedLines(before: readonly TracedLine[], after: readonly TracedLine[], disconnects: number, top = 8): GrownTracedLine[] {
  const per = Math.max(1, disconnects);
  const key = (l: TracedLine) => `${l.file}:${l.line}`;
  const start = new Map<string, TracedLine>();
  for (const line of before) start.set(key(line), line);
  const grown: GrownTracedLine[] = [];
  for (const line of after) {
    const was = start.get(key(line));
    const bytes = line.bytes - (was?.bytes ?? 0);
    if (bytes / per < MIN_TRACED_BYTES_PER_DISCONNECT) continue;
    grown.push({
      file: line.file,
      line: line.line,
      location: `${line.file.split('/').pop() ?? line.file}:${line.line}`,
      bytes,
      blocks: line.blocks - (was?.blocks ?? 0),
      bytesPerDisconnect: bytes / per,
    });
  }
  return grown.sort((a, b) => b.bytes - a.bytes || (key(a) < key(b) ? -1 : 1)).slice(0, top);
}
