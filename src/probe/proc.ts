/**
 * The probe for any process, in any language: RSS, open file descriptors and threads of a process tree,
 * read from /proc (Linux). Less detail than a runtime probe (no heap after GC, no handle types), but a
 * Python or Rust server leaking a socket or a thread per disconnect shows up here too.
 */
import { readdir, readFile } from 'node:fs/promises';
import { NODE_LIVE_WORKERS, PROC_FDS, PROC_RSS, PROC_THREADS } from '../analysis/index.js';
import { TargetStartError } from '../core/errors.js';
import type { ProbeDescription } from '../report/types.js';
import type { Probe } from './probe.js';

export interface ProcTreeSample {
  pids: number[];
  rssBytes: number;
  fds: number;
  threads: number;
}

/** `ppid` from the text of /proc/PID/stat (the command name may contain spaces and parentheses). */
export function parsePpid(stat: string): number | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const fields = stat.slice(close + 2).split(' ');
  const ppid = Number(fields[1]);
  return Number.isInteger(ppid) ? ppid : null;
}

/** VmRSS (bytes) and Threads from the text of /proc/PID/status. */
export function parseStatus(status: string): { rssBytes: number; threads: number } {
  const rssKb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  const threads = /^Threads:\s+(\d+)/m.exec(status)?.[1];
  return { rssBytes: rssKb ? Number(rssKb) * 1024 : 0, threads: threads ? Number(threads) : 0 };
}

/** `root` and every process descended from it. */
export async function processTree(root: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = parsePpid(await readFile(`/proc/${entry}/stat`, 'utf8'));
      if (ppid === null) continue;
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // exited while we looked
    }
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length > 0 && tree.length < 10_000) {
    const pid = queue.shift()!;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

export async function sampleProcTree(root: number): Promise<ProcTreeSample> {
  const sample: ProcTreeSample = { pids: [], rssBytes: 0, fds: 0, threads: 0 };
  for (const pid of await processTree(root)) {
    try {
      const { rssBytes, threads } = parseStatus(await readFile(`/proc/${pid}/status`, 'utf8'));
      const fds = (await readdir(`/proc/${pid}/fd`)).length;
      sample.pids.push(pid);
      sample.rssBytes += rssBytes;
      sample.threads += threads;
      sample.fds += fds;
    } catch {
      // exited while we looked: it holds nothing any more
    }
  }
  return sample;
}

export const PROC_DESCRIPTION: ProbeDescription = {
  via: '/proc',
  heap: PROC_RSS,
  handles: PROC_FDS,
  overall: { bytes: null, handles: PROC_FDS.key },
  tableMetrics: ['rssBytes', 'fds', 'threads'],
  heapNote: null,
};

/** Reads any process with a pid: the last in line for 'auto', so it never declines one. */
export function procProbe(): Probe {
  return {
    name: 'proc',
    description: PROC_DESCRIPTION,
    // In the order they are reported: the first decisive leak names the reason.
    metrics: [PROC_RSS, NODE_LIVE_WORKERS, PROC_FDS, PROC_THREADS],
    envFor: () => ({}),
    detect: async (subject) => {
      const root = subject.pid;
      if (root === null) return null;
      return {
        async sample() {
          const tree = await sampleProcTree(root);
          if (tree.pids.length === 0) throw new TargetStartError(subject.name, 'its process tree is gone');
          return {
            values: { rssBytes: tree.rssBytes, fds: tree.fds, threads: tree.threads },
            breakdown: {},
            processes: tree.pids.map((pid) => ({ pid, rssBytes: 0 })),
          };
        },
        evidence: () => null,
        close: async () => {},
      };
    },
    missing: (subject) => `has no process id to read /proc of (${subject.name})`,
  };
}
