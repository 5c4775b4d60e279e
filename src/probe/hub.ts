/**
 * The harness's end of the probe: a Unix socket server in a fresh 0700 directory. Every Node process of
 * a target (the server, an `npm start` wrapper, cluster workers) connects with a hello naming its label;
 * the hub keeps them by label and asks them for samples one process at a time.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { compiled } from '../core/paths.js';
import {
  PROBE_ENV,
  type AgentHello,
  type AgentReply,
  type NodeProcessSample,
  type SampleRequest,
  type SettleOptions,
  type SnapshotWritten,
  DEFAULT_SETTLE,
  PRIMER_SETTLE,
} from './protocol.js';

/** Absolute path of the compiled agent that NODE_OPTIONS preloads. */
export const AGENT_PATH = compiled('probe/agent.cjs');

/** How long one agent may take for one settled sample before it is treated as gone. */
const SAMPLE_TIMEOUT_MS = 30_000;
/** Writing a snapshot of a large heap takes long (~1 s per 20 MB: docs/measurements.md#heap-snapshot); bounded all the same. */
const SNAPSHOT_TIMEOUT_MS = 180_000;

export interface AgentInfo {
  label: string;
  pid: number;
  ppid: number;
  argv: string[];
  nodeVersion: string;
  gc: boolean;
}

class AgentConnection {
  private nextId = 1;
  private readonly pending = new Map<number, (reply: AgentReply | Error) => void>();
  private buffered = '';
  closed = false;

  constructor(
    readonly info: AgentInfo,
    private readonly socket: net.Socket,
    initialData: string,
  ) {
    socket.on('data', (chunk: string) => this.take(chunk));
    socket.on('close', () => {
      this.closed = true;
      for (const settle of this.pending.values()) settle(new Error(`agent ${info.pid} disconnected`));
      this.pending.clear();
    });
    if (initialData) this.take(initialData);
  }

  async sample(settle: SettleOptions): Promise<NodeProcessSample> {
    const request: Omit<SampleRequest, 'id'> = { cmd: 'sample', ...settle };
    const reply = await this.ask(request, SAMPLE_TIMEOUT_MS);
    if (!('sample' in reply)) throw new Error(`agent ${this.info.pid} answered a sample request with something else`);
    return reply.sample;
  }

  async snapshot(path: string): Promise<SnapshotWritten> {
    const reply = await this.ask({ cmd: 'snapshot', path }, SNAPSHOT_TIMEOUT_MS);
    if (!('snapshot' in reply)) throw new Error(`agent ${this.info.pid} answered a snapshot request with something else`);
    return reply.snapshot;
  }

  private ask(request: Record<string, unknown>, timeoutMs: number): Promise<Extract<AgentReply, { ok: true }>> {
    if (this.closed) return Promise.reject(new Error(`agent ${this.info.pid} is gone`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`agent ${this.info.pid} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, (reply) => {
        clearTimeout(timer);
        if (reply instanceof Error) reject(reply);
        else if (reply.ok) resolve(reply);
        else reject(new Error(`agent ${this.info.pid}: ${reply.error}`));
      });
      this.socket.write(JSON.stringify({ id, ...request }) + '\n');
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private take(chunk: string): void {
    this.buffered += chunk;
    let newline: number;
    while ((newline = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, newline);
      this.buffered = this.buffered.slice(newline + 1);
      let reply: AgentReply;
      try {
        reply = JSON.parse(line) as AgentReply;
      } catch {
        continue;
      }
      const settle = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      settle?.(reply);
    }
  }
}

export class ProbeHub {
  private readonly agents = new Set<AgentConnection>();
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly server: net.Server,
    private readonly directory: string,
    readonly socketPath: string,
    private readonly token: string,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  static async start(): Promise<ProbeHub> {
    // mkdtemp creates the directory with mode 0700: only this user can reach the socket inside it.
    const directory = await mkdtemp(path.join(os.tmpdir(), 'leakcheck-probe-'));
    const socketPath = path.join(directory, 'probe.sock');
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    server.unref();
    return new ProbeHub(server, directory, socketPath, randomBytes(16).toString('hex'));
  }

  /**
   * Environment for a target whose Node processes should be probed under `label`. Appends the preload
   * to any NODE_OPTIONS the harness itself was given.
   */
  envFor(label: string, baseNodeOptions = process.env.NODE_OPTIONS ?? ''): Record<string, string> {
    const preload = `--require ${JSON.stringify(AGENT_PATH)}`;
    return {
      [PROBE_ENV.socket]: this.socketPath,
      [PROBE_ENV.token]: this.token,
      [PROBE_ENV.label]: label,
      NODE_OPTIONS: baseNodeOptions ? `${baseNodeOptions} ${preload}` : preload,
    };
  }

  /** Agents connected under `label` that are still connected. */
  agentsOf(label: string): AgentInfo[] {
    return [...this.agents].filter((a) => a.info.label === label && !a.closed).map((a) => a.info);
  }

  /** Wait until at least `count` agents are connected under `label`. Resolves false on timeout. */
  async waitForAgents(label: string, count: number, timeoutMs: number, isAlive?: () => boolean): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.agentsOf(label).length < count) {
      const left = deadline - Date.now();
      if (left <= 0 || (isAlive && !isAlive())) return false;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(left, 100));
        this.waiters.add(wake);
      });
    }
    return true;
  }

  /**
   * A settled sample from every agent under `label`, one process at a time (each sample forces full
   * GCs; doing them together on two cores would make them slower and noisier, not faster).
   */
  async sample(label: string, settle: SettleOptions = DEFAULT_SETTLE, primed = true): Promise<NodeProcessSample[]> {
    const samples: NodeProcessSample[] = [];
    for (const agent of this.agents) {
      if (agent.info.label !== label || agent.closed) continue;
      try {
        if (primed) await agent.sample(PRIMER_SETTLE);
        samples.push(await agent.sample(settle));
      } catch (error) {
        // A process that exits between listing and sampling (an npm wrapper's short-lived child, a
        // cluster worker being replaced) is not an error of the target as a whole.
        if (!agent.closed) throw error;
      }
    }
    return samples;
  }

  /** A heap snapshot of every Node process under `label`, written as `<dir>/<name>-<pid>.heapsnapshot`. */
  async snapshot(label: string, dir: string, name: string): Promise<SnapshotWritten[]> {
    const written: SnapshotWritten[] = [];
    for (const agent of this.agents) {
      if (agent.info.label !== label || agent.closed) continue;
      written.push(await agent.snapshot(path.join(dir, `${name}-${agent.info.pid}.heapsnapshot`)));
    }
    return written;
  }

  /** Forget (and disconnect) every agent under `label`, e.g. after its target stopped. */
  forget(label: string): void {
    for (const agent of this.agents) {
      if (agent.info.label === label) {
        agent.close();
        this.agents.delete(agent);
      }
    }
  }

  async close(): Promise<void> {
    for (const agent of this.agents) agent.close();
    this.agents.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.directory, { recursive: true, force: true });
  }

  private accept(socket: net.Socket): void {
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    let buffered = '';
    const onData = (chunk: string) => {
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline < 0) {
        if (buffered.length > 64 * 1024) socket.destroy();
        return;
      }
      socket.off('data', onData);
      let hello: AgentHello;
      try {
        hello = JSON.parse(buffered.slice(0, newline)) as AgentHello;
      } catch {
        socket.destroy();
        return;
      }
      if (hello.type !== 'hello' || hello.token !== this.token) {
        socket.destroy();
        return;
      }
      const { label, pid, ppid, argv, nodeVersion, gc } = hello;
      const agent = new AgentConnection({ label, pid, ppid, argv, nodeVersion, gc }, socket, buffered.slice(newline + 1));
      this.agents.add(agent);
      socket.on('close', () => this.agents.delete(agent));
      for (const wake of [...this.waiters]) wake();
    };
    socket.on('data', onData);
  }
}
