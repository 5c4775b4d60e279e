/**
 * The Node probe for a server we did not start: no agent can be preloaded, so the process's own
 * inspector is opened (SIGUSR1, as `kill -USR1` does), read over the DevTools protocol, and closed
 * again. It yields the Node agent's metrics (heap used after forced GCs with compiled code left out,
 * external, array buffers, handles by type) and heap snapshots in the files the agent's evidence
 * writes, so verdicts and "what leaked" read the same (docs/targets.md#attaching).
 *
 * Whoever reaches an inspector runs code in the process: it is reached on loopback only, moved off the
 * well-known 9229 as soon as it opens, and closed at the end, or by a watchdog inside the target when
 * the harness falls silent (a SIGKILL runs no clean-up of ours).
 */
import { closeSync, openSync, readFileSync, readlinkSync, writeSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { NODE_METRICS } from '../analysis/index.js';
import type { InspectorReport, ProbeDescription } from '../report/types.js';
import { listeningPortsOf, pidsListeningOn, commandOf, type ListeningSocket } from '../targets/sockets.js';
import { InspectorClient } from './inspector-client.js';
import { HeapSnapshots, NODE_DESCRIPTION, summedNodeSample } from './node.js';
import type { Evidence, EvidenceOptions, Probe, ProbeSample, ProbeSession, ProbeSubject } from './probe.js';
import { DEFAULT_SETTLE, PRIMER_SETTLE, type NodeProcessSample, type SettleOptions, type SnapshotWritten } from './protocol.js';

export const INSPECTOR_DESCRIPTION: ProbeDescription = { ...NODE_DESCRIPTION, via: 'the inspector' };

/** Where Node opens its inspector on SIGUSR1 unless started with --inspect-port. */
export const DEFAULT_INSPECTOR_PORT = 9229;

/**
 * How long a target may take to open (or reopen) its inspector: ~80 ms on an idle Node 20; a busy event
 * loop answers the signal only between two turns (docs/measurements.md#inspector-open).
 */
const OPEN_TIMEOUT_MS = 5000;
/**
 * The watchdog's tick, the harness's heartbeat, and the silence after which the target closes its
 * inspector: five missed heartbeats (docs/measurements.md#inspector-close).
 */
const WATCHDOG_TICK_MS = 1000;
const HEARTBEAT_MS = 2000;
export const WATCHDOG_SILENCE_MS = 10_000;
/**
 * The close runs in a timer of the target after the session has gone: on Node 20, closing the inspector
 * from inside the evaluate a session runs has been seen to end the process with SIGSEGV
 * (docs/measurements.md#inspector-close).
 */
const CLOSE_DELAY_MS = 200;
const CALL_TIMEOUT_MS = 30_000;
/** A snapshot blocks the target about 1 s per 20 MB of heap; this bounds a 2 GB heap. */
const SNAPSHOT_TIMEOUT_MS = 120_000;
/** As the Node agent settles (agent.cts): at least two full collections, more until one frees less than 4 KB. */
const MIN_GC_PASSES = 2;
const SETTLED_WHEN_FREED_BELOW_BYTES = 4 * 1024;

/** The target's inspector module, on every Node that has one (getBuiltinModule: Node >= 20.16). */
const INSPECTOR_MODULE = `(process.getBuiltinModule ? process.getBuiltinModule('inspector') : process.mainModule.require('inspector'))`;
const WATCHDOG_KEY = `Symbol.for('streamer-leakcheck.inspector-watchdog')`;

/**
 * Installed once in a target whose inspector this run opened, beaten by every later evaluation of the
 * same text: a timer (unref'd, so it never keeps the target alive, and left out of its active resources)
 * that closes the inspector after WATCHDOG_SILENCE_MS without a beat. Time the event loop spent blocked
 * (a heap snapshot being written) does not count as silence. The same text every time, so V8 compiles it once.
 */
const BEAT_SOURCE = `(() => {
  const key = ${WATCHDOG_KEY};
  if (globalThis[key]) return globalThis[key].beat();
  let lastBeat = Date.now();
  let lastTick = lastBeat;
  const timer = setInterval(() => {
    const now = Date.now();
    const late = now - lastTick - ${WATCHDOG_TICK_MS};
    if (late > ${WATCHDOG_TICK_MS}) lastBeat += late;
    lastTick = now;
    if (now - lastBeat < ${WATCHDOG_SILENCE_MS}) return;
    clearInterval(timer);
    delete globalThis[key];
    try { ${INSPECTOR_MODULE}.close(); } catch {}
  }, ${WATCHDOG_TICK_MS});
  timer.unref();
  globalThis[key] = { beat: () => { lastBeat = Date.now(); return 'beat'; }, stop: () => { clearInterval(timer); delete globalThis[key]; } };
  return 'installed';
})()`;

/** Ends the watchdog and closes the inspector a moment later, from a timer, once the session is gone. */
const CLOSE_SOURCE = `(() => {
  const watchdog = globalThis[${WATCHDOG_KEY}];
  if (watchdog) watchdog.stop();
  setTimeout(() => { try { ${INSPECTOR_MODULE}.close(); } catch {} }, ${CLOSE_DELAY_MS}).unref();
  return true;
})()`;

/** Ends a watchdog left by an earlier run, in an inspector that is not ours to close. */
const UNWATCH_SOURCE = `(() => { const watchdog = globalThis[${WATCHDOG_KEY}]; if (watchdog) watchdog.stop(); return true; })()`;

/** Moves an inspector that SIGUSR1 opened on 9229 to a free loopback port, freeing 9229 for the next. */
const RELOCATE_SOURCE = `(() => {
  setTimeout(() => { try { const inspector = ${INSPECTOR_MODULE}; inspector.close(); inspector.open(0, '127.0.0.1'); } catch {} }, ${CLOSE_DELAY_MS}).unref();
  return true;
})()`;

const IDENTIFY_SOURCE = `({ pid: process.pid, version: process.version, builtins: typeof process.getBuiltinModule === 'function' })`;

/** One reading, a turn after the collection so that weak callbacks and finalizers it queued have run. */
const READ_SOURCE = `new Promise((resolve) => setImmediate(() => {
  const memory = process.memoryUsage();
  const code = process.getBuiltinModule('v8').getHeapCodeStatistics();
  const resources = {};
  for (const type of process.getActiveResourcesInfo()) resources[type] = (resources[type] || 0) + 1;
  resolve({ heapUsed: memory.heapUsed, heapTotal: memory.heapTotal, external: memory.external, arrayBuffers: memory.arrayBuffers,
    rss: memory.rss, compiledCode: code.code_and_metadata_size + code.bytecode_and_metadata_size, resources });
}))`;

interface Reading {
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  rss: number;
  compiledCode: number;
  resources: Record<string, number>;
}

/** /proc/PID/exe, or null when it cannot be read (gone, or another user's). */
export function executableOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return null;
  }
}

/** `node`, `nodejs`, `node20`, `node-22.12.0`: what Node's binary is called by installers and version managers. */
export function looksLikeNode(executable: string): boolean {
  return /^node(js)?([-_]?v?\d[\d.]*)?$/.test(path.basename(executable.replace(/ \(deleted\)$/, '')));
}

/**
 * Whether the process has a handler for SIGUSR1 (bit 10 of SigCgt in /proc/PID/status). A process without
 * one is ended by the signal: Node installs one at start-up unless started with --disable-sigusr1.
 */
export function catchesSigusr1(status: string): boolean {
  const mask = /^SigCgt:\s*([0-9a-f]+)$/im.exec(status)?.[1];
  return mask !== undefined && ((BigInt(`0x${mask}`) >> 9n) & 1n) === 1n;
}

/** GET /json/list of an inspector on loopback: the first Node session's WebSocket URL, or null. */
function inspectorUrlAt(socket: ListeningSocket): Promise<string | null> {
  const host = socket.address.includes(':') ? '::1' : '127.0.0.1';
  // An inspector bound to a non-loopback address is not one this tool reaches.
  if (!['127.0.0.1', '0.0.0.0', '::1', '::'].includes(socket.address) && !socket.address.startsWith('127.')) return Promise.resolve(null);
  const connectHost = socket.address.startsWith('127.') ? socket.address : host;
  return new Promise((resolve) => {
    const request = http.get({ host: connectHost, port: socket.port, path: '/json/list', agent: false, timeout: 1000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > 64 * 1024) request.destroy();
      });
      response.on('end', () => {
        try {
          const list = JSON.parse(body) as Array<{ type?: string; webSocketDebuggerUrl?: string }>;
          const url = list.find((entry) => entry.type === 'node' && typeof entry.webSocketDebuggerUrl === 'string')?.webSocketDebuggerUrl;
          if (!url) return resolve(null);
          // The inspector names the address it listens on; reach it through the one we checked.
          const ws = new URL(url);
          ws.hostname = connectHost.includes(':') ? `[${connectHost}]` : connectHost;
          ws.port = String(socket.port);
          resolve(ws.toString());
        } catch {
          resolve(null);
        }
      });
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(null));
  });
}

/** The inspector the process listens with (any of its listening ports but the server's own), or null. */
async function findInspector(pid: number, exceptPorts: readonly number[]): Promise<{ port: number; url: string } | null> {
  for (const socket of listeningPortsOf(pid)) {
    if (exceptPorts.includes(socket.port)) continue;
    const url = await inspectorUrlAt(socket);
    if (url) return { port: socket.port, url };
  }
  return null;
}

async function waitForInspector(pid: number, exceptPorts: readonly number[]): Promise<{ port: number; url: string } | null> {
  const deadline = Date.now() + OPEN_TIMEOUT_MS;
  for (let delayMs = 20; Date.now() < deadline; delayMs = Math.min(delayMs * 2, 200)) {
    const found = await findInspector(pid, exceptPorts);
    if (found) return found;
    if (!isRunning(pid)) return null;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
  return null;
}

async function waitUntilClosed(pid: number, port: number): Promise<boolean> {
  const deadline = Date.now() + OPEN_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!isRunning(pid) || !listeningPortsOf(pid).some((s) => s.port === port)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One target at a time between SIGUSR1 and the inspector's move off 9229: two at once would both want
 * 9229, and the second would stay without one.
 */
let opening: Promise<unknown> = Promise.resolve();
function oneAtATime<T>(work: () => Promise<T>): Promise<T> {
  const next = opening.then(work, work);
  opening = next.catch(() => {});
  return next;
}

async function evaluate<T>(client: InspectorClient, expression: string, timeoutMs = CALL_TIMEOUT_MS): Promise<T> {
  const reply = await client.call('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true, silent: true }, timeoutMs);
  if (reply.exceptionDetails) throw new Error(`the target refused an evaluation: ${reply.exceptionDetails.exception?.description ?? reply.exceptionDetails.text}`);
  return reply.result.value as T;
}

type Opened = { session: InspectorSession } | { problem: string };

/** Opens (or finds) the inspector of `pid`, connects, and checks the Node is one this probe can read. */
async function open(subject: ProbeSubject, pid: number): Promise<Opened> {
  const appPort = Number(new URL(subject.origin).port || 80);
  const hint = `start it with --inspect=127.0.0.1:0 (then its inspector is found), or use --probe ${subject.name}=proc`;
  const already = await findInspector(pid, [appPort]);
  let found = already;
  if (!found) {
    const status = (() => {
      try {
        return readFileSync(`/proc/${pid}/status`, 'utf8');
      } catch {
        return '';
      }
    })();
    if (!catchesSigusr1(status)) return { problem: `pid ${pid} does not handle SIGUSR1 (started with --disable-sigusr1?), so its inspector cannot be opened: ${hint}` };
    found = await oneAtATime(async () => {
      const before = listeningPortsOf(pid).map((s) => s.port);
      process.kill(pid, 'SIGUSR1');
      const opened = await waitForInspector(pid, [appPort, ...before.filter((p) => p !== DEFAULT_INSPECTOR_PORT)]);
      if (!opened) return null;
      // Off 9229 at once, so another server (or the next target of this run) can open its own there.
      const client = await InspectorClient.connect(opened.url);
      try {
        await evaluate(client, RELOCATE_SOURCE);
      } finally {
        await client.close();
      }
      return waitForInspector(pid, [appPort, opened.port, ...before]);
    });
    if (!found) {
      if (!isRunning(pid)) return { problem: `pid ${pid} exited when its inspector was opened` };
      const holders = pidsListeningOn(DEFAULT_INSPECTOR_PORT).filter((holder) => holder !== pid);
      const why = holders.length > 0 ? `port ${DEFAULT_INSPECTOR_PORT} is held by pid ${holders[0]} (${commandOf(holders[0]!)})` : 'no inspector port appeared';
      return { problem: `pid ${pid} did not open its inspector within ${OPEN_TIMEOUT_MS} ms of SIGUSR1 (${why}): ${hint}` };
    }
  }
  const client = await InspectorClient.connect(found.url);
  const session = new InspectorSession(client, pid, found.port, already === null);
  try {
    const identity = await evaluate<{ pid: number; version: string; builtins: boolean }>(client, IDENTIFY_SOURCE);
    session.version = identity.version;
    if (identity.pid !== pid) throw new Error(`the inspector on port ${found.port} belongs to pid ${identity.pid}, not ${pid}`);
    if (!identity.builtins) throw new Error(`it runs Node ${identity.version}; reading a running Node needs >= 20.16 (process.getBuiltinModule)`);
    await session.begin();
    return { session };
  } catch (error) {
    await session.close();
    return { problem: `pid ${pid}: ${error instanceof Error ? error.message : String(error)}; ${hint}` };
  }
}

export function nodeInspectorProbe(): Probe {
  // Why detect() found nothing for a target, for missing() and declined() to say.
  const problems = new Map<string, string>();
  return {
    name: 'node',
    description: INSPECTOR_DESCRIPTION,
    metrics: NODE_METRICS,
    envFor: () => ({}),
    async detect(subject) {
      problems.delete(subject.name);
      const pid = subject.pid;
      if (pid === null) return null;
      const executable = executableOf(pid);
      if (executable === null || !looksLikeNode(executable)) {
        // SIGUSR1 ends a shell, a wrapper or any program without a handler: never sent to those.
        problems.set(
          subject.name,
          `pid ${pid} is not a Node process (${executable ?? 'its /proc/PID/exe cannot be read'}), so no SIGUSR1 was sent: ` +
            `give the Node process with --pid ${subject.name}=PID, or use --probe ${subject.name}=proc`,
        );
        return null;
      }
      const opened = await open(subject, pid);
      if ('problem' in opened) {
        problems.set(subject.name, opened.problem);
        return null;
      }
      return opened.session;
    },
    missing: (subject) =>
      problems.get(subject.name) ?? `has no process id to open the inspector of: give one with --pid ${subject.name}=PID`,
    declined: (subject) => {
      const problem = problems.get(subject.name);
      // Only a Node process that could not be read: any other program is simply not this probe's.
      return problem && !problem.includes('is not a Node process') ? problem : null;
    },
  };
}

export class InspectorSession implements ProbeSession {
  version = '';
  private heartbeat: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  private closedAfter: boolean | null = null;

  constructor(
    private readonly client: InspectorClient,
    private readonly pid: number,
    private readonly port: number,
    /** False when the inspector was open before we came (the user's --inspect): it stays open. */
    private readonly openedByRun: boolean,
  ) {}

  get runtime(): string | undefined {
    return this.version ? `Node ${this.version}` : undefined;
  }

  /** What the report says of the inspector: where it was, whether this run opened it, and whether it closed. */
  get inspector(): InspectorReport {
    return { port: this.port, openedByRun: this.openedByRun, closed: this.openedByRun ? this.closedAfter : null };
  }

  async begin(): Promise<void> {
    if (!this.openedByRun) {
      await evaluate(this.client, UNWATCH_SOURCE);
      return;
    }
    await evaluate(this.client, BEAT_SOURCE);
    this.heartbeat = setInterval(() => void evaluate(this.client, BEAT_SOURCE, HEARTBEAT_MS * 2).catch(() => {}), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  async sample(): Promise<ProbeSample> {
    await this.settled(PRIMER_SETTLE);
    return summedNodeSample([await this.settled(DEFAULT_SETTLE)]);
  }

  /** The Node agent's settled reading (agent.cts), with the collections run over the protocol. */
  private async settled(options: SettleOptions): Promise<NodeProcessSample> {
    const started = Date.now();
    let { reading, passes } = await this.collectAndRead(options.maxGcPasses);
    let rounds = 1;
    let settled = false;
    while (Date.now() + options.gapMs < started + options.maxMs) {
      await new Promise((resolve) => setTimeout(resolve, options.gapMs));
      const next = await this.collectAndRead(options.maxGcPasses);
      passes += next.passes;
      rounds++;
      const moved = Math.abs(next.reading.heapUsed - reading.heapUsed);
      reading = next.reading;
      if (moved <= options.toleranceBytes) {
        settled = true;
        break;
      }
    }
    return {
      pid: this.pid,
      heapUsedBytes: reading.heapUsed,
      compiledCodeBytes: reading.compiledCode,
      heapTotalBytes: reading.heapTotal,
      externalBytes: reading.external,
      arrayBuffersBytes: reading.arrayBuffers,
      rssBytes: reading.rss,
      resources: reading.resources,
      gcPasses: passes,
      rounds,
      settled,
      sampleMs: Date.now() - started,
    };
  }

  private async collectAndRead(maxGcPasses: number): Promise<{ reading: Reading; passes: number }> {
    let previous: number | null = null;
    let reading: Reading | null = null;
    let passes = 0;
    while (passes < maxGcPasses) {
      await this.client.call('HeapProfiler.collectGarbage', undefined, CALL_TIMEOUT_MS);
      passes++;
      reading = await evaluate<Reading>(this.client, READ_SOURCE);
      const freed = previous === null ? Infinity : previous - reading.heapUsed;
      previous = reading.heapUsed;
      if (passes >= MIN_GC_PASSES && freed < SETTLED_WHEN_FREED_BELOW_BYTES) break;
    }
    return { reading: reading!, passes };
  }

  evidence(options: EvidenceOptions): Evidence | null {
    if (!options.directory) return null;
    return new HeapSnapshots(
      async (directory, stem) => [await this.snapshot(path.join(directory, `${stem}-${this.pid}.heapsnapshot`))],
      options.directory,
      options.name,
      options.signal,
    );
  }

  /** A heap snapshot streamed over the protocol into an owner-only file, as v8.writeHeapSnapshot would write it. */
  private async snapshot(file: string): Promise<SnapshotWritten> {
    const started = Date.now();
    const fd = openSync(file, 'wx', 0o600);
    let bytes = 0;
    let failure: Error | null = null;
    const stop = this.client.on('HeapProfiler.addHeapSnapshotChunk', ({ chunk }) => {
      if (failure) return;
      try {
        bytes += writeSync(fd, chunk);
      } catch (error) {
        failure = error as Error;
      }
    });
    try {
      await this.client.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, SNAPSHOT_TIMEOUT_MS);
    } finally {
      stop();
      closeSync(fd);
    }
    if (failure) throw failure;
    return { pid: this.pid, path: file, ms: Date.now() - started, bytes };
  }

  /** Ends the session; an inspector this run opened is closed by the target, then seen to be closed. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.heartbeat) clearInterval(this.heartbeat);
      if (!this.openedByRun) {
        await this.client.close();
        return;
      }
      await evaluate(this.client, CLOSE_SOURCE, 5000).catch(() => {});
      await this.client.close();
      // Asked or not (a target that stopped answering), the watchdog closes it once our beats stop.
      this.closedAfter = await waitUntilClosed(this.pid, this.port);
    })();
    return this.closing;
  }
}
