/**
 * A target: a server under test, started fresh for each scenario so that what one scenario leaves
 * behind cannot bleed into the next (and because variance lives between processes: FIELD-NOTES).
 *
 * Starting means: spawn through the supervisor with PORT/HOST (and the mock upstream's URL) in the
 * environment, wait until the port accepts connections, wait for the probe's agents, and make one
 * preflight request to the stream path so a wrong path or a 500 is reported before any load runs.
 */
import { request, Agent } from 'undici';
import { TargetDiedError, TargetStartError } from '../core/errors.js';
import { compiled } from '../core/paths.js';
import type { ProbeHub } from '../probe/hub.js';
import { isGoServer, readGoroutineDump, sampleGo, type GoroutineDumpRead } from '../probe/go.js';
import { sampleProcTree } from '../probe/proc.js';
import { findFreePort, LOOPBACK_HOST, waitForPort } from './ports.js';
import type { ManagedProcess, ProcessSupervisor } from './supervisor.js';
import { upstreamEnv } from './upstream.js';

export type Expectation = 'leak' | 'clean';
/** How a target is sampled: the injected Node agent, /proc for any process, or 'auto' (node if an agent connects). */
export type ProbeKind = 'node' | 'go' | 'proc' | 'auto';

export interface TargetSpec {
  name: string;
  /** 'builtin' for the reference pair, 'user' for `--target NAME=COMMAND`. */
  origin: 'builtin' | 'user';
  expect: Expectation;
  probe: ProbeKind;
  command: string;
  args: string[];
  /** Run `command` through /bin/sh -c (user command lines). */
  shell: boolean;
  /** Stream route, `{id}` replaced by a unique id per request. */
  pathTemplate: string;
  /** Read a live-workers gauge from GET /debug/vars (the reference streamers expose one). */
  workersGauge: boolean;
  env?: Record<string, string>;
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
    pathTemplate: DEFAULT_STREAM_PATH,
    workersGauge: false,
  };
}

export function builtinTarget(which: 'old' | 'new'): TargetSpec {
  return {
    name: which,
    origin: 'builtin',
    expect: which === 'old' ? 'leak' : 'clean',
    probe: 'node',
    command: process.execPath,
    args: [REFERENCE_MAIN, which],
    shell: false,
    pathTemplate: DEFAULT_STREAM_PATH,
    workersGauge: true,
  };
}

/**
 * One reading of a whole target (all its processes summed). Node probe: after a settled forced GC, with
 * heap and handle figures. /proc probe: RSS, file descriptors and threads only.
 */
export interface TargetSample {
  /** Milliseconds since the target started. */
  atMs: number;
  /**
   * V8 heap used with compiled code left out (heapUsed − compiledCodeBytes): the heap figure every verdict
   * reads. Measured on the reference `new` in batches of 400 mixed disconnects: after the first batch,
   * code and bytecode with their metadata grew another 330 KB over the next 3500 disconnects (−11…+127 KB
   * a batch) while V8 compiled and optimised, against 116 KB for everything else. That drift is bounded
   * by the program's size, not by its traffic; a leak of objects shows here whole.
   */
  heapUsedBytes?: number;
  /** V8's compiled code and bytecode with metadata, recorded beside the heap but never judged. */
  compiledCodeBytes?: number;
  externalBytes?: number;
  arrayBuffersBytes?: number;
  rssBytes: number;
  handles?: number;
  handlesByType: Record<string, number>;
  fds?: number;
  threads?: number;
  goroutines?: number;
  heapAllocBytes?: number;
  /** Go: goroutines by their first frame in the program. */
  goroutineGroups?: Record<string, number>;
  /** The reference streamers' live-workers gauge; absent for targets without one. */
  liveWorkers?: number;
  processes: Array<{ pid: number; rssBytes: number; heapUsedBytes?: number; handles?: number }>;
}

export interface StartContext {
  supervisor: ProcessSupervisor;
  hub: ProbeHub;
  upstreamUrl: string;
  startTimeoutMs: number;
  /** Distinguishes successive starts of the same target in the probe hub. */
  instance: string;
  signal?: AbortSignal;
}

/** Resources the probe itself or the harness's pipes account for in every sample. */
const HARNESS_RESOURCE_TYPES = new Set(['PipeWrap']);

export class RunningTarget {
  /** Rejects with TargetDiedError if the process exits before stop() is called. */
  readonly died: Promise<never>;
  private stopping = false;
  private readonly startedAt = Date.now();
  /** One kept-alive connection for /debug/vars reads, so reading does not add churn to the handle count. */
  private readonly debugAgent = new Agent({ connections: 1, keepAliveTimeout: 60_000 });

  constructor(
    readonly spec: TargetSpec,
    readonly process: ManagedProcess,
    readonly port: number,
    private readonly hub: ProbeHub,
    readonly label: string,
    /** The probe actually used ('auto' resolved). */
    readonly probe: 'node' | 'go' | 'proc',
  ) {
    this.died = process.exited.then((exit) => {
      if (this.stopping) return new Promise<never>(() => {});
      throw new TargetDiedError(spec.name, exit, process.tail('stderr', 10));
    });
    // Nobody may be awaiting `died` at the moment the process exits; the error is still reported
    // through the next race that includes it.
    this.died.catch(() => {});
  }

  get origin(): string {
    return `http://${LOOPBACK_HOST}:${this.port}`;
  }

  async sample(): Promise<TargetSample> {
    const sample =
      this.probe === 'node' ? await this.sampleNode() : this.probe === 'go' ? await this.sampleGo() : await this.sampleProc();
    if (this.spec.workersGauge) {
      const vars = await this.debugVars();
      if (typeof vars?.liveWorkers === 'number') sample.liveWorkers = vars.liveWorkers;
    }
    return sample;
  }

  private async sampleGo(): Promise<TargetSample> {
    const go = await sampleGo(this.origin, this.debugAgent);
    const tree = await sampleProcTree(this.process.pid);
    const sample: TargetSample = {
      atMs: Date.now() - this.startedAt,
      rssBytes: tree.rssBytes,
      goroutines: go.goroutines,
      heapAllocBytes: go.heapAllocBytes,
      goroutineGroups: go.goroutineGroups,
      handlesByType: {},
      processes: tree.pids.map((pid) => ({ pid, rssBytes: 0 })),
    };
    if (go.liveWorkers !== undefined) sample.liveWorkers = go.liveWorkers;
    return sample;
  }

  /** Go targets: every goroutine's state and stack, grouped (the runtime stops the world to write them). */
  async goroutineDump(): Promise<GoroutineDumpRead> {
    if (this.probe !== 'go') throw new Error(`goroutine dumps need the go probe, not ${this.probe}`);
    return readGoroutineDump(this.origin, this.debugAgent);
  }

  private async sampleProc(): Promise<TargetSample> {
    const tree = await sampleProcTree(this.process.pid);
    if (tree.pids.length === 0) throw new TargetStartError(this.spec.name, 'its process tree is gone');
    return {
      atMs: Date.now() - this.startedAt,
      rssBytes: tree.rssBytes,
      fds: tree.fds,
      threads: tree.threads,
      handlesByType: {},
      processes: tree.pids.map((pid) => ({ pid, rssBytes: 0 })),
    };
  }

  /** Settled sample of every Node process of the target, summed. */
  private async sampleNode(): Promise<TargetSample> {
    const processSamples = await this.hub.sample(this.label);
    if (processSamples.length === 0) {
      throw new TargetStartError(this.spec.name, 'no Node process of the target answers the probe any more');
    }
    const handlesByType: Record<string, number> = {};
    let heapUsedBytes = 0;
    let compiledCodeBytes = 0;
    let externalBytes = 0;
    let arrayBuffersBytes = 0;
    let rssBytes = 0;
    const processes: TargetSample['processes'] = [];
    for (const s of processSamples) {
      heapUsedBytes += s.heapUsedBytes - s.compiledCodeBytes;
      compiledCodeBytes += s.compiledCodeBytes;
      externalBytes += s.externalBytes;
      arrayBuffersBytes += s.arrayBuffersBytes;
      rssBytes += s.rssBytes;
      let handles = 0;
      for (const [type, count] of Object.entries(s.resources)) {
        if (HARNESS_RESOURCE_TYPES.has(type)) continue;
        handlesByType[type] = (handlesByType[type] ?? 0) + count;
        handles += count;
      }
      processes.push({ pid: s.pid, heapUsedBytes: s.heapUsedBytes - s.compiledCodeBytes, rssBytes: s.rssBytes, handles });
    }
    const handles = Object.values(handlesByType).reduce((a, b) => a + b, 0);
    return {
      atMs: Date.now() - this.startedAt,
      heapUsedBytes,
      compiledCodeBytes,
      externalBytes,
      arrayBuffersBytes,
      rssBytes,
      handles,
      handlesByType,
      processes,
    };
  }

  async debugVars(): Promise<Record<string, unknown> | null> {
    try {
      const response = await request(`${this.origin}/debug/vars`, {
        dispatcher: this.debugAgent,
        headersTimeout: 5000,
        bodyTimeout: 5000,
      });
      if (response.statusCode !== 200) {
        await response.body.dump();
        return null;
      }
      return (await response.body.json()) as Record<string, unknown>;
    } catch {
      return null;
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.debugAgent.close().catch(() => {});
    await this.process.stop();
    this.hub.forget(this.label);
  }
}

export async function startTarget(spec: TargetSpec, ctx: StartContext): Promise<RunningTarget> {
  const port = await findFreePort();
  const label = `${spec.name}#${ctx.instance}`;
  const child = ctx.supervisor.spawn({
    name: spec.name,
    command: spec.command,
    args: spec.args,
    shell: spec.shell,
    env: {
      ...spec.env,
      ...ctx.hub.envFor(label),
      PORT: String(port),
      HOST: LOOPBACK_HOST,
      ...upstreamEnv(ctx.upstreamUrl),
    },
  });
  const fail = async (problem: string): Promise<never> => {
    await child.stop();
    ctx.hub.forget(label);
    const tail = child.tail('stderr', 10);
    throw new TargetStartError(spec.name, problem, tail.length > 0 ? tail : child.tail('stdout', 10));
  };

  const listening = await waitForPort(port, {
    timeoutMs: ctx.startTimeoutMs,
    isAlive: () => child.running,
    signal: ctx.signal,
  });
  if (listening === 'aborted') {
    await child.stop();
    ctx.hub.forget(label);
    throw ctx.signal?.reason ?? new Error('aborted');
  }
  if (listening === 'dead') {
    const exit = child.exit;
    return fail(
      `exited before listening (${exit?.signal ? `signal ${exit.signal}` : `exit code ${exit?.code}`})`,
    );
  }
  if (listening === 'timeout') {
    return fail(`did not accept connections on ${LOOPBACK_HOST}:${port} within ${ctx.startTimeoutMs} ms (is it reading PORT from the environment?)`);
  }

  let probe: 'node' | 'go' | 'proc' = spec.probe === 'proc' || spec.probe === 'go' ? spec.probe : 'node';
  if (spec.probe === 'node' || spec.probe === 'auto') {
    // A Node server's agent says hello before the server's own code runs, so by the time the port
    // listens it is there; 'auto' waits only briefly before falling back to /proc.
    const agentTimeoutMs = spec.probe === 'node' ? Math.max(1000, Math.min(ctx.startTimeoutMs, 10_000)) : AUTO_DETECT_MS;
    if (!(await ctx.hub.waitForAgents(label, 1, agentTimeoutMs, () => child.running))) {
      if (spec.probe === 'node') {
        return fail('listens, but no Node process of it loaded the probe (is it a Node server started with NODE_OPTIONS intact?)');
      }
      probe = 'proc';
    }
  }
  if (spec.probe === 'auto' && probe === 'proc' && (await isGoServer(`http://${LOOPBACK_HOST}:${port}`, goDetectAgent))) {
    probe = 'go';
  }
  if (spec.probe === 'go' && !(await isGoServer(`http://${LOOPBACK_HOST}:${port}`, goDetectAgent))) {
    return fail('was named a Go target (--probe go) but does not serve /debug/pprof/ (import _ "net/http/pprof")');
  }

  const running = new RunningTarget(spec, child, port, ctx.hub, label, probe);
  const problem = await preflight(running.origin, spec.pathTemplate);
  if (problem) {
    await running.stop();
    throw new TargetStartError(spec.name, problem, child.tail('stderr', 10));
  }
  return running;
}

/**
 * One request to the stream path before any load: a wrong route or a crashing handler is a start
 * failure with a clear message, not thousands of counted errors.
 */
const PREFLIGHT_TIMEOUT_MS = 5000;

/** Short-lived connections for the one /debug/pprof/ look that tells a Go server. */
const goDetectAgent = new Agent({ keepAliveTimeout: 10, connections: 1 });

/** How long 'auto' waits for a Node agent after the port listens before using /proc. */
const AUTO_DETECT_MS = 500;

async function preflight(origin: string, pathTemplate: string): Promise<string | null> {
  const path = pathTemplate.replaceAll('{id}', `preflight-${Date.now()}`);
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, PREFLIGHT_TIMEOUT_MS);
  try {
    const response = await request(`${origin}${path}`, { signal: controller.signal });
    const type = String(response.headers['content-type'] ?? '');
    const status = response.statusCode;
    controller.abort();
    await response.body.dump().catch(() => {});
    if (status !== 200) return `answers ${status} on ${path} (set the stream route with --path)`;
    if (!type.includes('text/event-stream')) {
      return `answers ${path} with content-type "${type || 'none'}", not text/event-stream`;
    }
    return null;
  } catch (error) {
    if (timedOut) return `sent no response headers on ${path} within ${PREFLIGHT_TIMEOUT_MS} ms`;
    return `the preflight request to ${path} failed: ${(error as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}
