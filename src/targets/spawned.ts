/**
 * The target we start: spawned through the supervisor with PORT/HOST (and the mock upstream's URL) in
 * its environment, plus what its probes need; ready once its port accepts connections, a probe has
 * attached, and one preflight request to the stream route was answered as a stream should be.
 */
import { request, Agent } from 'undici';
import { TargetDiedError, TargetStartError } from '../core/errors.js';
import type { Probe, ProbeSession, ProbeSubject } from '../probe/probe.js';
import { preflight } from '../load/preflight.js';
import { attachProbe, probeEnv, type Probes } from '../probe/registry.js';
import { listenersOf } from './descendants.js';
import { findFreePort, LOOPBACK_HOST, waitForPort } from './ports.js';
import type { ManagedProcess, ProcessSupervisor } from './supervisor.js';
import { upstreamEnv } from './upstream.js';
import type { StopOutcome, Target, TargetSample, TargetSpec } from './target.js';

/** How long a stopped target's port may take to be released before its holder is named as escaped. */
const PORT_RELEASE_MS = 1000;

export interface StartContext {
  supervisor: ProcessSupervisor;
  probes: Probes;
  upstreamUrl: string;
  startTimeoutMs: number;
  /** Distinguishes successive starts of the same target (the Node agent's hello names it). */
  instance: string;
  signal?: AbortSignal;
}

export class SpawnedTarget implements Target {
  readonly died: Promise<never>;
  private stopping = false;
  private readonly startedAt = Date.now();
  /** One kept-alive connection for /debug/vars reads, so reading does not add churn to the handle count. */
  private readonly debugAgent = new Agent({ connections: 1, keepAliveTimeout: 60_000 });

  constructor(
    readonly spec: TargetSpec,
    readonly process: ManagedProcess,
    readonly port: number,
    /** This start of the target, as its probes know it. */
    readonly label: string,
    readonly probe: Probe,
    private readonly session: ProbeSession,
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
    const sample: TargetSample = { ...(await this.session.sample()), atMs: 0 };
    sample.atMs = Date.now() - this.startedAt;
    if (this.spec.workersGauge) {
      const vars = await this.debugVars();
      if (typeof vars?.liveWorkers === 'number') sample.values.liveWorkers = vars.liveWorkers;
    }
    return sample;
  }

  evidence(options: Parameters<Target['evidence']>[0]): ReturnType<Target['evidence']> {
    return this.session.evidence(options);
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

  async stop(): Promise<StopOutcome> {
    this.stopping = true;
    await this.debugAgent.close().catch(() => {});
    await this.process.stop();
    await this.session.close();
    let holders = listenersOf(this.port);
    // A process SIGKILLed a moment ago can still hold its sockets while the kernel tears it down, after its
    // environment is gone (so no marker shows): only one that still listens after a second has escaped.
    for (const until = Date.now() + PORT_RELEASE_MS; holders.length > 0 && Date.now() < until; holders = listenersOf(this.port)) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { stillListening: holders.map((holder) => ({ ...holder, port: this.port })) };
  }
}

export async function startTarget(spec: TargetSpec, ctx: StartContext): Promise<SpawnedTarget> {
  const port = await findFreePort();
  const label = `${spec.name}#${ctx.instance}`;
  const child = ctx.supervisor.spawn({
    name: spec.name,
    command: spec.command,
    args: spec.args,
    shell: spec.shell,
    env: {
      ...spec.env,
      ...probeEnv(spec.probe, ctx.probes, label),
      PORT: String(port),
      HOST: LOOPBACK_HOST,
      ...upstreamEnv(ctx.upstreamUrl),
    },
  });
  const origin = `http://${LOOPBACK_HOST}:${port}`;
  const subject: ProbeSubject = { name: spec.name, origin, pid: child.pid, label, isAlive: () => child.running };
  let session: ProbeSession | null = null;
  const fail = async (problem: string): Promise<never> => {
    await child.stop();
    await session?.close();
    const tail = child.tail('stderr', 10);
    throw new TargetStartError(spec.name, problem, tail.length > 0 ? tail : child.tail('stdout', 10));
  };

  const listening = await waitForPort(port, {
    timeoutMs: ctx.startTimeoutMs,
    isAlive: () => child.running,
    signal: ctx.signal,
  });
  if (listening === 'aborted') {
    // An agent that said hello goes with its process (its socket closes); the hub drops it then.
    await child.stop();
    throw ctx.signal?.reason ?? new Error('aborted');
  }
  if (listening === 'dead') {
    const exit = child.exit;
    return fail(`exited before listening (${exit?.signal ? `signal ${exit.signal}` : `exit code ${exit?.code}`})`);
  }
  if (listening === 'timeout') {
    return fail(`did not accept connections on ${LOOPBACK_HOST}:${port} within ${ctx.startTimeoutMs} ms (is it reading PORT from the environment?)`);
  }

  const attached = await attachProbe(spec.probe, ctx.probes, subject, ctx.startTimeoutMs);
  if ('problem' in attached) return fail(attached.problem);
  session = attached.session;

  const running = new SpawnedTarget(spec, child, port, label, attached.probe, attached.session);
  const problem = await preflight(running.origin, spec.request, { signal: ctx.signal, firstEventTimeoutMs: ctx.startTimeoutMs });
  if (problem) {
    await running.stop();
    throw new TargetStartError(spec.name, problem, child.tail('stderr', 10));
  }
  return running;
}
