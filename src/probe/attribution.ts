/**
 * Attribution for Node targets: two heap snapshots (the start and the end of a scenario) read and
 * diffed by group, and for the top named groups the shortest retainer path from the GC roots.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { InterruptedError } from '../core/errors.js';
import { compiled } from '../core/paths.js';
import { diffGroups, isNamedGroup, type RetainedGroup } from '../analysis/attribution.js';
import type { Attribution } from '../report/types.js';
import { readHeapSnapshot } from './heap-snapshot.js';
import type { SnapshotWritten } from './protocol.js';

/** Retainer paths are looked up for this many groups (each is a walk of the whole end snapshot). */
const RETAINER_PATHS = 3;

export interface AttributionRequest {
  start: SnapshotWritten[];
  end: SnapshotWritten[];
  disconnects: number;
}

/** attribute() in a worker thread (see attribution-worker.ts for why); same result. */
export function attributeInWorker(request: AttributionRequest, signal?: AbortSignal): Promise<Attribution | null> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new InterruptedError('interrupted'));
    const worker = new Worker(compiled('probe/attribution-worker.js'), { workerData: request });
    let settled = false;
    const onAbort = () => {
      settled = true;
      reject(new InterruptedError('interrupted'));
      void worker.terminate();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('exit', () => signal?.removeEventListener('abort', onAbort));
    worker.once('message', (reply: { ok: true; attribution: Attribution | null } | { ok: false; message: string }) => {
      settled = true;
      if (reply.ok) resolve(reply.attribution);
      else reject(new Error(`reading the heap snapshots failed: ${reply.message}`));
      void worker.terminate();
    });
    worker.once('error', (error) => {
      settled = true;
      reject(new Error(`reading the heap snapshots failed: ${error.message}`));
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`reading the heap snapshots failed: the reader stopped (exit code ${code}) before answering`));
    });
  });
}

export async function attribute(start: SnapshotWritten[], end: SnapshotWritten[], disconnects: number): Promise<Attribution | null> {
  const started = Date.now();
  let best: { pid: number; grown: number; retained: RetainedGroup[]; after: Awaited<ReturnType<typeof readHeapSnapshot>> } | null = null;
  for (const last of end) {
    const first = start.find((s) => s.pid === last.pid);
    if (!first) continue;
    // One snapshot read at a time: of the start only its groups are kept.
    const startGroups = (await readHeapSnapshot(first.path)).groups;
    const after = await readHeapSnapshot(last.path);
    const retained = diffGroups(startGroups, after.groups, disconnects);
    const grown = retained.reduce((sum, g) => sum + g.bytes, 0);
    if (!best || grown > best.grown) best = { pid: last.pid, grown, retained, after };
  }
  if (!best) return null;
  const named = best.retained.filter((g) => isNamedGroup(g.group));
  for (const group of (named.length > 0 ? named : best.retained).slice(0, RETAINER_PATHS)) {
    const steps = best.after.retainerPath(group.group);
    if (steps) group.retainerPath = steps;
  }
  const pid = best.pid;
  return {
    pid,
    snapshots: [...start, ...end].filter((s) => s.pid === pid).map((s) => path.basename(s.path)),
    snapshotMs: [...start, ...end].filter((s) => s.pid === pid).reduce((ms, s) => ms + s.ms, 0),
    analysisMs: Date.now() - started,
    retained: best.retained,
  };
}
