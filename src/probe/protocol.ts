/**
 * The wire between the injected agents (agent.cts in Node processes, python-agent/ in Python ones, inside
 * a target) and the hub (hub.ts, in the harness): newline-delimited JSON over a Unix domain socket in a
 * directory only this user can enter, plus a random token in the hello. No TCP port is opened, so
 * nothing on the network can reach the probe.
 */
import type { GoroutineGroup } from '../analysis/goroutines.js';

/** Environment variables the harness sets for a target. */
export const PROBE_ENV = {
  socket: 'STREAMER_LEAKCHECK_PROBE_SOCKET',
  token: 'STREAMER_LEAKCHECK_PROBE_TOKEN',
  /** Which target (and which start of it) the agents of this process tree belong to. */
  label: 'STREAMER_LEAKCHECK_PROBE_LABEL',
} as const;

/** Which agent said hello: the Node agent's hello names none. */
export type AgentRuntime = 'node' | 'python';

export interface AgentHello {
  type: 'hello';
  token: string;
  label: string;
  pid: number;
  ppid: number;
  argv: string[];
  /** process.version of a Node agent; '' from the Python agent. */
  nodeVersion: string;
  /** Whether the agent could obtain a gc() function (Node) or the collector is enabled (Python). */
  gc: boolean;
  runtime?: AgentRuntime;
  /** The Python agent's interpreter: 'cpython 3.11.2'. */
  version?: string;
  /** Python: whether tracemalloc traces this process. */
  tracemalloc?: boolean;
}

export interface SampleRequest extends SettleOptions {
  id: number;
  cmd: 'sample';
}

/** How hard the agent works for a settled reading (see settledSample in agent.cts). */
export interface SettleOptions {
  /** Upper bound of full GC passes per reading; a reading stops earlier once a pass frees < 4 KB. */
  maxGcPasses: number;
  /** Two readings `gapMs` apart that differ by at most this are settled. */
  toleranceBytes: number;
  gapMs: number;
  /** Give up settling after this long and report the last reading with settled: false. */
  maxMs: number;
}

export const DEFAULT_SETTLE: SettleOptions = { maxGcPasses: 6, toleranceBytes: 8 * 1024, gapMs: 100, maxMs: 2000 };

/**
 * A settled reading whose figures are thrown away, taken just before the real one: the first settled
 * reading after a batch sits 20–200 KB above the ones that follow, whatever the pause before it; one
 * full request/reply round with the agent releases that (docs/measurements.md#primer).
 */
export const PRIMER_SETTLE: SettleOptions = { maxGcPasses: 6, toleranceBytes: 8 * 1024, gapMs: 100, maxMs: 1000 };

/** One settled reading inside one Node process. All byte figures after the forced GC. */
export interface NodeProcessSample {
  pid: number;
  /** process.memoryUsage().heapUsed, compiled code included. */
  heapUsedBytes: number;
  /**
   * V8's machine code and bytecode with their metadata (v8.getHeapCodeStatistics(): code_and_metadata_size
   * + bytecode_and_metadata_size), a part of heapUsedBytes.
   */
  compiledCodeBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
  rssBytes: number;
  /** process.getActiveResourcesInfo() counted by type, e.g. { TCPSocketWrap: 3, Timeout: 1 }. */
  resources: Record<string, number>;
  gcPasses: number;
  /** Readings taken before two agreed. */
  rounds: number;
  /** false when the heap was still moving by more than the tolerance at maxMs. */
  settled: boolean;
  /** Time spent collecting and reading, in the target. */
  sampleMs: number;
}

/** A heap snapshot written by the agent (v8.writeHeapSnapshot), owner-only. */
export interface SnapshotWritten {
  pid: number;
  path: string;
  ms: number;
  bytes: number;
}

/**
 * Where a pending asyncio task waits (python-agent/streamer_leakcheck_agent.py, `_describe`): the state is
 * the library call it is parked in (`Queue.put`, `sleep`, `Event.wait`) or what it awaits (`Future`);
 * the place is the innermost frame of the program on its await chain, else its outermost coroutine.
 * The fields of a goroutine group, read the same way (`stack` is the await chain, `createdBy` the
 * coroutine's cr_origin, the program's frame first), and the source lines at both places.
 */
export interface PythonTaskGroup extends GoroutineGroup {
  /** The source lines at `location` and at `createdBy`, stripped ('await queue.put(chunk)'). */
  code: string | null;
  createdByCode: string | null;
}

/** One settled reading inside one Python process: after gc.collect() until a pass freed nothing. */
export interface PythonProcessSample {
  pid: number;
  /** len(gc.get_objects()): objects the cycle collector tracks (containers, not ints or strings). */
  gcObjects: number;
  /** sys.getallocatedblocks(): every block pymalloc handed out, any object of any size; null without pymalloc. */
  allocatedBlocks: number | null;
  /** tracemalloc.get_traced_memory()[0], null when tracemalloc is not tracing. */
  tracedBytes: number | null;
  /** Tasks not done, over every running event loop. */
  pendingTasks: number;
  loops: number;
  /** Loops that did not run the agent's callback within a second (their tasks were read from outside). */
  blockedLoops: number;
  /** Pending tasks counted by `[state] function at location`. */
  tasksByPlace: Record<string, number>;
  gcPasses: number;
  sampleMs: number;
}

/** What the Python agent says leaked-so-far evidence is made of, for one process. */
export interface PythonEvidenceRead {
  pid: number;
  totalTasks: number;
  blockedLoops: number;
  groups: PythonTaskGroup[];
  /** GC-tracked objects by type ('dict', 'asyncio.queues.Queue'). */
  types: Record<string, number>;
  /** tracemalloc's live allocations by place: [file, line, bytes, blocks]; null when it is not tracing. */
  traced: Array<[string, number, number, number]> | null;
  ms: number;
}

export type AgentReply =
  | { id: number; ok: true; sample: NodeProcessSample | PythonProcessSample }
  | { id: number; ok: true; snapshot: SnapshotWritten }
  | { id: number; ok: true; evidence: PythonEvidenceRead }
  | { id: number; ok: false; error: string };
