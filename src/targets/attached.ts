/**
 * A target that runs already (`--attach NAME=URL`): found by its port, read by a probe that needs no
 * start-up injection (the Node inspector, Go's pprof, /proc), attached to once for all scenarios and
 * never stopped: stop() detaches, and whatever attaching opened in it (an inspector) is closed.
 */
import { readFileSync } from 'node:fs';
import { TargetDiedError, TargetStartError } from '../core/errors.js';
import { preflight } from '../load/preflight.js';
import type { Probe, ProbeSession, ProbeSubject } from '../probe/probe.js';
import { processTree } from '../probe/proc.js';
import { attachProbe, type Probes } from '../probe/registry.js';
import type { AttachedReport } from '../report/types.js';
import { waitForPort } from './ports.js';
import { commandOf, pidsListeningOn } from './sockets.js';
import type { AttachSpec, StopOutcome, Target, TargetSample, TargetSpec } from './target.js';

export interface AttachContext {
  probes: Probes;
  startTimeoutMs: number;
  signal?: AbortSignal;
}

/** How often an attached process is looked for: we are not its parent, so no exit event reaches us. */
const ALIVE_POLL_MS = 250;
/** An attached server listens already: a port that does not answer within this is not one. */
const LISTENING_TIMEOUT_MS = 2000;

/** Field 22 of /proc/PID/stat, the start time: tells a process from a later one given the same pid. */
export function startTimeOf(stat: string): string | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  return stat.slice(close + 2).split(' ')[19] ?? null;
}

function processIdentity(pid: number): { startTime: string | null; zombie: boolean } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return { startTime: startTimeOf(stat), zombie: stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z') };
  } catch {
    return null;
  }
}

export class AttachedTarget implements Target {
  readonly died: Promise<never>;
  private readonly attachedAt = Date.now();
  private watch: NodeJS.Timeout | null = null;
  private stopping: Promise<StopOutcome> | null = null;

  constructor(
    readonly spec: TargetSpec,
    readonly origin: string,
    readonly pid: number | null,
    private readonly pidFrom: AttachedReport['pidFrom'],
    readonly probe: Probe,
    private readonly session: ProbeSession,
  ) {
    const identity = pid === null ? null : processIdentity(pid);
    this.died = new Promise<never>((_, reject) => {
      if (pid === null || identity === null) return;
      this.watch = setInterval(() => {
        const now = processIdentity(pid);
        if (now && !now.zombie && now.startTime === identity.startTime) return;
        clearInterval(this.watch!);
        reject(new TargetDiedError(spec.name, null));
      }, ALIVE_POLL_MS);
      this.watch.unref();
    });
    // Nobody may be awaiting `died` when the process goes; the next race that includes it reports it.
    this.died.catch(() => {});
  }

  async sample(): Promise<TargetSample> {
    const sample = await this.session.sample();
    return { ...sample, atMs: Date.now() - this.attachedAt };
  }

  evidence(options: Parameters<Target['evidence']>[0]): ReturnType<Target['evidence']> {
    return this.session.evidence(options);
  }

  /** Detaches (closing what attaching opened); the server itself is left running. */
  stop(): Promise<StopOutcome> {
    this.stopping ??= (async () => {
      if (this.watch) clearInterval(this.watch);
      await this.session.close();
      return { stillListening: [] };
    })();
    return this.stopping;
  }

  /** What the report says of it; read after stop() for whether the inspector closed. */
  report(): AttachedReport {
    return {
      url: this.origin,
      pid: this.pid,
      pidFrom: this.pidFrom,
      command: this.pid === null ? null : commandOf(this.pid),
      inspector: this.session.inspector ?? null,
      upstream: this.spec.attach?.upstream ?? null,
    };
  }
}

/**
 * The process behind an attached server: the one given (which must listen on the port, itself or through
 * a process it started), else the owner of the port's listening socket (the first of several, unless one
 * started the others: a cluster's primary).
 */
export async function processOf(name: string, attach: AttachSpec): Promise<{ pid: number | null; from: AttachedReport['pidFrom'] }> {
  const holders = pidsListeningOn(attach.port);
  if (attach.pid !== null) {
    if (processIdentity(attach.pid) === null) throw new TargetStartError(name, `--pid ${name}=${attach.pid}: no such process`);
    const tree = await processTree(attach.pid);
    if (holders.length > 0 && !holders.some((holder) => tree.includes(holder))) {
      throw new TargetStartError(
        name,
        `--pid ${name}=${attach.pid}: that process does not listen on port ${attach.port} (pid ${holders[0]} does: ${commandOf(holders[0]!)})`,
      );
    }
    return { pid: attach.pid, from: 'flag' };
  }
  if (holders.length === 0) return { pid: null, from: null };
  for (const holder of holders) {
    const tree = await processTree(holder);
    if (holders.every((other) => tree.includes(other))) return { pid: holder, from: 'port' };
  }
  return { pid: holders[0]!, from: 'port' };
}

export async function attachTarget(spec: TargetSpec, ctx: AttachContext): Promise<AttachedTarget> {
  const attach = spec.attach;
  if (!attach) throw new Error(`attachTarget: ${spec.name} is not an attached target`);
  const { hostname, port } = new URL(attach.url);
  const listening = await waitForPort(Number(port || 80), {
    host: hostname.replace(/^\[(.*)\]$/, '$1'),
    timeoutMs: Math.min(ctx.startTimeoutMs, LISTENING_TIMEOUT_MS),
    signal: ctx.signal,
  });
  if (listening === 'aborted') throw ctx.signal?.reason ?? new Error('aborted');
  if (listening !== 'ready') throw new TargetStartError(spec.name, `nothing accepts connections at ${attach.url} (--attach expects a server that runs already)`);
  const { pid, from } = await processOf(spec.name, attach);
  const subject: ProbeSubject = {
    name: spec.name,
    origin: attach.url,
    pid,
    label: `${spec.name}@attached`,
    isAlive: () => pid === null || processIdentity(pid) !== null,
  };
  const attached = await attachProbe(spec.probe, ctx.probes, subject, ctx.startTimeoutMs);
  if ('problem' in attached) {
    throw new TargetStartError(spec.name, pid === null ? `${attached.problem} (no process of this user holds port ${attach.port}'s listening socket: give --pid ${spec.name}=PID)` : attached.problem);
  }
  const target = new AttachedTarget(spec, attach.url, pid, from, attached.probe, attached.session);
  const problem = await preflight(target.origin, spec.request, { signal: ctx.signal, firstEventTimeoutMs: ctx.startTimeoutMs }).catch(async (error: unknown) => {
    await target.stop();
    throw error;
  });
  if (problem) {
    await target.stop();
    throw new TargetStartError(spec.name, problem);
  }
  return target;
}
