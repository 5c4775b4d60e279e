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

export interface SampleRequest {
  id: number;
  cmd: 'sample';
  /** Upper bound of full GC passes; the agent stops earlier once heapUsed stops falling. */
  maxGcPasses: number;
}

/** One settled reading inside one Node process. All byte figures after the forced GC. */
export interface NodeProcessSample {
  pid: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
  rssBytes: number;
  /** process.getActiveResourcesInfo() counted by type, e.g. { TCPSocketWrap: 3, Timeout: 1 }. */
  resources: Record<string, number>;
  gcPasses: number;
  /** Time spent collecting and reading, in the target. */
  sampleMs: number;
}

export type AgentReply =
  | { id: number; ok: true; sample: NodeProcessSample }
  | { id: number; ok: false; error: string };
