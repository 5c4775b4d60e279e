/**
 * The Python probe: an agent (python-agent/sitecustomize.py) that every Python process of the target
 * imports at start-up from PYTHONPATH, with no change to the server's code. It says hello to the hub
 * like the Node agent and answers settled samples (gc.collect() until a pass frees nothing): pending
 * asyncio tasks on every running loop, GC-tracked objects, tracemalloc's traced bytes. RSS, descriptors
 * and threads are read from /proc of the whole process tree, as the /proc probe reads them. Its evidence
 * is two reads of every task's await chain, the object types and tracemalloc's allocation sites.
 *
 * `python -I`, `-E` and `-S` skip sitecustomize: such a target has no agent, and 'auto' reads it through
 * /proc with the reason in the report (declined()).
 */
import { readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { PYTHON_METRICS, PY_ALLOCATED_BLOCKS, PY_PENDING_TASKS, PY_TRACED, type Verdict } from '../analysis/index.js';
import { diffObjectTypes, diffTaskGroups, diffTracedLines, type TaskGroup, type TracedLine } from '../analysis/tasks.js';
import { TargetStartError } from '../core/errors.js';
import { compiled } from '../core/paths.js';
import type { ProbeDescription, ScenarioResult, TaskGrowth } from '../report/types.js';
import { TASK_KIND_PREFIX } from '../report/types.js';
import type { ProbeHub } from './hub.js';
import { parseStatus, processTree, sampleProcTree } from './proc.js';
import type { Evidence, Probe, ProbeSample, ProbeSession, ProbeSubject } from './probe.js';
import type { PythonEvidenceRead, PythonProcessSample } from './protocol.js';

/** The folder put first on a target's PYTHONPATH: sitecustomize.py and the agent beside it (copied by the build). */
export const PYTHON_AGENT_DIR = compiled('probe/python-agent');

/**
 * tracemalloc in the target, from the harness's environment: '0' (the default: off, it costs the server
 * 2.7-3.4x the agent's CPU per disconnect, 4.0-4.5x that of a server read through /proc only;
 * docs/measurements.md#python-tracemalloc) or how many frames to keep per
 * allocation ('1': the site that allocated, which is what "what leaked" names). A target that starts it
 * itself (PYTHONTRACEMALLOC) is read the same way.
 */
export const TRACEMALLOC_ENV = 'STREAMER_LEAKCHECK_TRACEMALLOC';
const AGENT_TRACEMALLOC_ENV = 'STREAMER_LEAKCHECK_PROBE_TRACEMALLOC';
export const DEFAULT_TRACEMALLOC_FRAMES = '0';

/** How long 'auto' waits for the agent of a tree that runs Python (its hello comes before the program's code). */
const AUTO_DETECT_MS = 500;
/** A sample forces full collections in every process; a read of the evidence also snapshots tracemalloc. */
const SAMPLE_TIMEOUT_MS = 30_000;
const EVIDENCE_TIMEOUT_MS = 120_000;
/** Passes of gc.collect() per reading at most; a reading stops at the first pass that frees nothing. */
const MAX_GC_PASSES = 6;

/**
 * Allocated blocks stand for retained memory in charts: they count every object, tracemalloc or not. The
 * bytes of a target's overall figures and budgets are tracemalloc's (none when it is off).
 */
export const PYTHON_DESCRIPTION: ProbeDescription = {
  via: 'the Python agent',
  heap: PY_ALLOCATED_BLOCKS,
  handles: PY_PENDING_TASKS,
  overall: { bytes: PY_TRACED.key, handles: PY_PENDING_TASKS.key },
  tableMetrics: ['pendingTasks', 'allocatedBlocks', 'gcObjects', 'tracedBytes', 'fds'],
  heapNote: null,
};

/** Python interpreters by executable name: python, python3, python3.11, pypy3… */
const PYTHON_EXECUTABLE = /^(?:python|pypy)\d*(?:\.\d+)*$/;

/** Processes of the tree rooted at `root` whose executable is a Python interpreter. */
export async function pythonProcessesOf(root: number | null): Promise<Array<{ pid: number; executable: string }>> {
  if (root === null) return [];
  const found: Array<{ pid: number; executable: string }> = [];
  for (const pid of await processTree(root)) {
    const executable = await readlink(`/proc/${pid}/exe`).catch(() => '');
    if (PYTHON_EXECUTABLE.test(path.basename(executable))) found.push({ pid, executable });
  }
  return found;
}

export function pythonProbe(hub: ProbeHub): Probe {
  /** Why the last detection of a label found Python without its agent, for declined(). */
  const declinedWhy = new Map<string, string>();
  return {
    name: 'python',
    description: PYTHON_DESCRIPTION,
    metrics: PYTHON_METRICS,
    envFor: (label) => {
      const frames = process.env[TRACEMALLOC_ENV] ?? DEFAULT_TRACEMALLOC_FRAMES;
      const inherited = process.env.PYTHONPATH;
      return {
        ...hub.connectionEnv(label),
        PYTHONPATH: inherited ? `${PYTHON_AGENT_DIR}${path.delimiter}${inherited}` : PYTHON_AGENT_DIR,
        [AGENT_TRACEMALLOC_ENV]: /^\d+$/.test(frames) ? frames : DEFAULT_TRACEMALLOC_FRAMES,
      };
    },
    async detect(subject, { required, startTimeoutMs }) {
      declinedWhy.delete(subject.label);
      const connected = () => hub.agentsOf(subject.label, 'python').length > 0;
      if (!connected()) {
        if (required) {
          const timeoutMs = Math.max(1000, Math.min(startTimeoutMs, 10_000));
          if (!(await hub.waitForAgents(subject.label, 1, timeoutMs, subject.isAlive, 'python'))) return null;
        } else {
          // Only a tree that runs Python can have a Python agent: anything else is passed on at once.
          const pythons = await pythonProcessesOf(subject.pid);
          if (pythons.length === 0) return null;
          if (!(await hub.waitForAgents(subject.label, 1, AUTO_DETECT_MS, subject.isAlive, 'python'))) {
            const [first] = pythons;
            declinedWhy.set(
              subject.label,
              `pid ${first!.pid} (${path.basename(first!.executable)}) runs Python without the agent: python -I, -E and -S skip ` +
                'sitecustomize, and so does a PYTHONPATH that replaces the one the run set',
            );
            return null;
          }
        }
      }
      return new PythonSession(hub, subject);
    },
    declined: (subject) => declinedWhy.get(subject.label) ?? null,
    missing: () =>
      'listens, but no Python process of it loaded the agent (python -I, -E and -S skip sitecustomize; keep the PYTHONPATH the run sets, or add to it)',
  };
}

class PythonSession implements ProbeSession {
  constructor(
    private readonly hub: ProbeHub,
    private readonly subject: ProbeSubject,
  ) {}

  get runtime(): string | undefined {
    return this.hub.agentsOf(this.subject.label, 'python')[0]?.version;
  }

  async sample(): Promise<ProbeSample> {
    const answers = await this.hub.askEach(
      this.subject.label,
      'python',
      { cmd: 'sample', maxGcPasses: MAX_GC_PASSES },
      (reply) => ('sample' in reply ? (reply.sample as PythonProcessSample) : undefined),
      SAMPLE_TIMEOUT_MS,
    );
    if (answers.length === 0) {
      throw new TargetStartError(this.subject.name, 'no Python process of the target answers the probe any more');
    }
    const breakdown: Record<string, number> = {};
    let pendingTasks = 0;
    let gcObjects = 0;
    let blockedLoops = 0;
    let tracedBytes: number | null = null;
    let allocatedBlocks: number | null = null;
    const processes: ProbeSample['processes'] = [];
    for (const { value: s } of answers) {
      pendingTasks += s.pendingTasks;
      gcObjects += s.gcObjects;
      blockedLoops += s.blockedLoops;
      if (s.tracedBytes !== null) tracedBytes = (tracedBytes ?? 0) + s.tracedBytes;
      if (s.allocatedBlocks !== null) allocatedBlocks = (allocatedBlocks ?? 0) + s.allocatedBlocks;
      for (const [place, count] of Object.entries(s.tasksByPlace)) {
        breakdown[`${TASK_KIND_PREFIX}${place}`] = (breakdown[`${TASK_KIND_PREFIX}${place}`] ?? 0) + count;
      }
      processes.push({ pid: s.pid, rssBytes: await rssOf(s.pid), handles: s.pendingTasks });
    }
    if (blockedLoops > 0) breakdown['event loops not answering (blocked)'] = blockedLoops;
    const values: Record<string, number> = { pendingTasks, gcObjects, blockedLoops };
    if (tracedBytes !== null) values.tracedBytes = tracedBytes;
    if (allocatedBlocks !== null) values.allocatedBlocks = allocatedBlocks;
    if (this.subject.pid !== null) {
      // The whole tree, as the /proc probe reads it: a wrapper's or a worker's descriptors count too.
      const tree = await sampleProcTree(this.subject.pid);
      Object.assign(values, { rssBytes: tree.rssBytes, fds: tree.fds, threads: tree.threads });
    } else {
      values.rssBytes = processes.reduce((sum, p) => sum + p.rssBytes, 0);
    }
    return { values, breakdown, processes };
  }

  evidence(): Evidence {
    return new TaskReads(() =>
      this.hub.askEach(
        this.subject.label,
        'python',
        { cmd: 'evidence', traced: true },
        (reply) => ('evidence' in reply ? reply.evidence : undefined),
        EVIDENCE_TIMEOUT_MS,
      ),
    );
  }

  async close(): Promise<void> {
    this.hub.forget(this.subject.label);
  }
}

async function rssOf(pid: number): Promise<number> {
  try {
    return parseStatus(await readFile(`/proc/${pid}/status`, 'utf8')).rssBytes;
  } catch {
    return 0;
  }
}

/** Every Python process's evidence summed: what the target as a whole holds. */
export interface MergedTaskRead {
  processes: number;
  totalTasks: number;
  blockedLoops: number;
  groups: TaskGroup[];
  types: Record<string, number>;
  traced: TracedLine[] | null;
  ms: number;
}

export function mergeTaskReads(reads: readonly PythonEvidenceRead[]): MergedTaskRead {
  const groups = new Map<string, TaskGroup>();
  const types: Record<string, number> = {};
  const traced = new Map<string, TracedLine>();
  let anyTraced = false;
  const merged: MergedTaskRead = { processes: reads.length, totalTasks: 0, blockedLoops: 0, groups: [], types, traced: null, ms: 0 };
  for (const read of reads) {
    merged.totalTasks += read.totalTasks;
    merged.blockedLoops += read.blockedLoops;
    merged.ms += read.ms;
    for (const group of read.groups) {
      const key = `[${group.state}] ${group.function} at ${group.location}`;
      const known = groups.get(key);
      if (known) known.count += group.count;
      else groups.set(key, { ...group });
    }
    for (const [type, count] of Object.entries(read.types)) types[type] = (types[type] ?? 0) + count;
    if (read.traced) {
      anyTraced = true;
      for (const [file, line, bytes, blocks] of read.traced) {
        const key = `${file}:${line}`;
        const known = traced.get(key);
        if (known) {
          known.bytes += bytes;
          known.blocks += blocks;
        } else {
          traced.set(key, { file, line, bytes, blocks });
        }
      }
    }
  }
  merged.groups = [...groups.values()].sort((a, b) => b.count - a.count);
  merged.traced = anyTraced ? [...traced.values()] : null;
  return merged;
}

/**
 * Two reads, one with whichever sample becomes the first of the judged series (taken again at the
 * baseline), one after the last. They only say what leaked: a read that fails leaves that out, never
 * the verdict.
 */
class TaskReads implements Evidence {
  private first: MergedTaskRead | null = null;
  private last: MergedTaskRead | null = null;

  constructor(private readonly read: () => Promise<Array<{ value: PythonEvidenceRead }>>) {}

  private async take(): Promise<MergedTaskRead | null> {
    try {
      const answers = await this.read();
      return answers.length > 0 ? mergeTaskReads(answers.map((a) => a.value)) : null;
    } catch {
      return null;
    }
  }

  async start(): Promise<void> {
    this.first = await this.take();
  }

  async end(_verdict: Verdict): Promise<void> {
    this.last = await this.take();
  }

  conclude(result: ScenarioResult, figures: { seriesSpan: number }): null {
    if (this.first && this.last) result.taskGrowth = taskGrowth(this.first, this.last, figures.seriesSpan);
    return null;
  }

  async discard(): Promise<void> {}
}

/** `disconnects`: the x-axis between the reads (completed streams on a control scenario), as the verdict counts. */
export function taskGrowth(start: MergedTaskRead, end: MergedTaskRead, disconnects: number): TaskGrowth {
  return {
    disconnects,
    totalAtStart: start.totalTasks,
    totalAtEnd: end.totalTasks,
    processes: end.processes,
    blockedLoops: end.blockedLoops,
    readMs: start.ms + end.ms,
    groups: diffTaskGroups(start.groups, end.groups, disconnects),
    objectTypes: diffObjectTypes(start.types, end.types, disconnects),
    tracemalloc: start.traced && end.traced ? diffTracedLines(start.traced, end.traced, disconnects) : null,
  };
}

