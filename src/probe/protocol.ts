/**
 * The wire between the injected agent (agent.cts, inside a target) and the hub (hub.ts, in the harness):
 * newline-delimited JSON over a Unix domain socket in a directory only this user can enter, plus a random
 * token in the hello. No TCP port is opened, so nothing on the network can reach the probe.
 */

/** Environment variables the harness sets for a target. */
export const PROBE_ENV = {
  socket: 'STREAMER_LEAKCHECK_PROBE_SOCKET',
  token: 'STREAMER_LEAKCHECK_PROBE_TOKEN',
  /** Which target (and which start of it) the agents of this process tree belong to. */
  label: 'STREAMER_LEAKCHECK_PROBE_LABEL',
} as const;

export interface AgentHello {
  type: 'hello';
  token: string;
  label: string;
  pid: number;
  ppid: number;
  argv: string[];
  nodeVersion: string;
  /** Whether the agent could obtain a gc() function; without it samples are not settled. */
  gc: boolean;
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

export type AgentReply =
  | { id: number; ok: true; sample: NodeProcessSample }
  | { id: number; ok: true; snapshot: SnapshotWritten }
  | { id: number; ok: false; error: string };
