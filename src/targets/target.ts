/**
 * A target: a server under test. The run holds it through this contract (its origin, samples, evidence,
 * death and stop) and never asks how it came to run: a process we start fresh for each scenario
 * (spawned.ts), so that what one scenario leaves behind cannot bleed into the next and because variance
 * lives between processes more than within one; or a server that runs already, attached to once for
 * all scenarios and left running (attached.ts).
 */
import { compiled } from '../core/paths.js';
import type { UpstreamCancellation } from '../analysis/upstream.js';
import { defaultRequest, type StreamRequest } from '../load/request.js';
import type { Evidence, EvidenceOptions, Probe, ProbeChoice, ProbeSample } from '../probe/probe.js';

export type Expectation = 'leak' | 'clean';
/** How a target is sampled: a probe by name, or 'auto' (see probe/registry.ts). */
export type ProbeKind = ProbeChoice;

/** A server that runs already (`--attach NAME=URL`): where it listens, and which process it is. */
export interface AttachSpec {
  /** Its origin on loopback, `http://127.0.0.1:3000`. */
  url: string;
  port: number;
  /** `--pid`; null: the owner of the port's listening socket. */
  pid: number | null;
  /** The origin of the mock upstream it was pointed at (`--upstream`), read for the cancellation check; null: none. */
  upstream: string | null;
}

export interface TargetSpec {
  name: string;
  /** 'builtin' for the reference pair, 'user' for `--target NAME=COMMAND`, 'attached' for `--attach NAME=URL`. */
  origin: 'builtin' | 'user' | 'attached';
  /** Set for (and only for) an attached target; `command` and `args` are then empty. */
  attach?: AttachSpec;
  expect: Expectation;
  /** `--expect-upstream`: whether its client's leaving must cancel its upstream call; absent: not checked. */
  expectUpstream?: UpstreamCancellation;
  probe: ProbeKind;
  command: string;
  args: string[];
  /** Run `command` through /bin/sh -c (user command lines). */
  shell: boolean;
  /** What every client sends (method, stream route, headers, body, framing); `{id}` replaced per request. */
  request: StreamRequest;
  /** Read a live-workers gauge from GET /debug/vars (the reference streamers expose one). */
  workersGauge: boolean;
  env?: Record<string, string>;
}

/** One settled reading of a whole target, `atMs` after it started. */
export interface TargetSample extends ProbeSample {
  atMs: number;
}

export interface Target {
  readonly spec: TargetSpec;
  /** `http://127.0.0.1:PORT`: where load goes. */
  readonly origin: string;
  /** The probe that reads it ('auto' resolved). */
  readonly probe: Probe;
  /** Rejects with TargetDiedError if the target goes away before stop() is called. */
  readonly died: Promise<never>;
  sample(): Promise<TargetSample>;
  /** Evidence of what leaked, as its probe collects it; null for none. */
  evidence(options: EvidenceOptions): Evidence | null;
  /** Ends what we started (a target we did not start is left running); says what it could not end. */
  stop(): Promise<StopOutcome>;
}

export interface StopOutcome {
  /**
   * Processes that still listen on the target's port after it stopped: they left its process group and
   * cleared the run's marker from their environment, so nothing of ours could reach them.
   */
  stillListening: Array<{ pid: number; command: string; port: number }>;
}

/** Compiled entry of the reference servers (dist/src/reference/main.js). */
export const REFERENCE_MAIN = compiled('reference/main.js');

export const DEFAULT_STREAM_PATH = '/chat/stream/{id}';

/** The seed's Go streamers (built by targets/go-build.ts), checked through pprof and expvar. */
export function builtinGoTarget(which: 'old' | 'new', binary: string): TargetSpec {
  return {
    name: `go-${which}`,
    origin: 'builtin',
    expect: which === 'old' ? 'leak' : 'clean',
    probe: 'go',
    command: binary,
    args: ['-variant', which],
    shell: false,
    request: defaultRequest(DEFAULT_STREAM_PATH),
    workersGauge: false,
  };
}

/** `node`: the Node that runs the reference servers (`--node`); the harness's own by default. */
export function builtinTarget(which: 'old' | 'new', node: string = process.execPath): TargetSpec {
  return {
    name: which,
    origin: 'builtin',
    expect: which === 'old' ? 'leak' : 'clean',
    probe: 'node',
    command: node,
    args: [REFERENCE_MAIN, which],
    shell: false,
    request: defaultRequest(DEFAULT_STREAM_PATH),
    workersGauge: true,
  };
}

/** Entry of the Python reference servers (copied into dist/ by the build: they are not compiled). */
export const PYTHON_REFERENCE_MAIN = compiled('reference/python/main.py');

/** The interpreter the Python pair runs on unless `--python` (or STREAMER_LEAKCHECK_PYTHON) names another. */
export const DEFAULT_PYTHON = 'python3';

/** The seed's streamers in asyncio (standard library only, Python >= 3.9), checked through the Python agent. */
export function builtinPythonTarget(which: 'old' | 'new', python: string = DEFAULT_PYTHON): TargetSpec {
  return {
    name: `py-${which}`,
    origin: 'builtin',
    expect: which === 'old' ? 'leak' : 'clean',
    probe: 'python',
    command: python,
    args: [PYTHON_REFERENCE_MAIN, which],
    shell: false,
    request: defaultRequest(DEFAULT_STREAM_PATH),
    workersGauge: true,
  };
}
