/**
 * `streamer-leakcheck serve old|new|upstream`: run a reference server by hand and watch it.
 *
 * Starts the mock upstream and, for old/new, the streamer, as child processes (through the supervisor),
 * prints where they listen and a curl line to try, then one stats line every `statsIntervalMs` read from
 * the server's /debug/vars, so an engineer closing curl mid-stream sees old's live workers and handles
 * climb and new's stay flat. Resolves once `signal` aborts and every child is stopped; rejects with
 * TargetStartError if a child never listens, TargetDiedError if one dies.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { TargetDiedError, TargetStartError } from '../core/errors.js';
import type { DebugVars, UpstreamStats } from '../reference/index.js';
import { REFERENCE_ENTRY } from '../reference/index.js';
import { LOOPBACK_HOST } from '../targets/ports.js';
import { ProcessSupervisor, type ManagedProcess } from '../targets/supervisor.js';

export type ServeWhich = 'old' | 'new' | 'upstream';

export interface ServeOptions {
  which: ServeWhich;
  /** Port of the served server (the streamer, or the upstream for `serve upstream`); 0 = a free port. */
  port?: number;
  host?: string;
  /** Upstream tokens per stream and pause between tokens. */
  tokens?: number;
  intervalMs?: number;
  statsIntervalMs?: number;
  signal: AbortSignal;
  print: (line: string) => void;
  /** Owner of the children; one of its own by default. Only the children serve() started are stopped. */
  supervisor?: ProcessSupervisor;
}

export const DEFAULT_SERVE_PORT = 8080;
export const DEFAULT_STATS_INTERVAL_MS = 2000;
/** A reference server listens within ~100 ms; 10 s covers a cold, loaded machine. */
const LISTEN_TIMEOUT_MS = 10_000;
const LISTENING_LINE = /^listening on (http:\/\/\S+)$/;

interface RunningChild {
  name: string;
  process: ManagedProcess;
  url: string;
}

export async function serve(options: ServeOptions): Promise<void> {
  const { which, signal, print } = options;
  const supervisor = options.supervisor ?? new ProcessSupervisor();
  const statsIntervalMs = options.statsIntervalMs ?? DEFAULT_STATS_INTERVAL_MS;
  const servedPort = options.port ?? DEFAULT_SERVE_PORT;
  const servedHost = options.host ?? LOOPBACK_HOST;
  const started: ManagedProcess[] = [];
  let stopping = false;
  // One kept-alive connection for the stats reads, so reading adds one steady handle, not churn.
  const statsAgent = new Agent({ connections: 1, keepAliveTimeout: 60_000 });

  const start = async (name: string, args: string[]): Promise<RunningChild> => {
    const child = supervisor.spawn({ name, command: process.execPath, args: [REFERENCE_ENTRY, ...args] });
    started.push(child);
    const url = await waitForListening(child, signal);
    return { name, process: child, url };
  };

  try {
    const upstreamArgs = ['upstream', ...optional('--tokens', options.tokens), ...optional('--interval-ms', options.intervalMs)];
    const upstream =
      which === 'upstream'
        ? await start('upstream', [...upstreamArgs, '--port', String(servedPort), '--host', servedHost])
        : await start('upstream', [...upstreamArgs, '--port', '0', '--host', LOOPBACK_HOST]);
    if (signal.aborted) return;
    const served =
      which === 'upstream'
        ? upstream
        : await start(which, [which, '--port', String(servedPort), '--host', servedHost, '--upstream', `${upstream.url}/v1`]);
    if (signal.aborted) return;

    for (const line of introduction(which, served.url, upstream.url, statsIntervalMs)) print(line);

    // A child that exits before we stop it ends the command with an error that names it.
    const died = new Promise<never>((_, reject) => {
      for (const child of started) {
        void child.exited.then((exit) => {
          if (!stopping) reject(new TargetDiedError(child.name, exit, child.tail('stderr', 10)));
        });
      }
    });
    died.catch(() => {});

    const startedAt = Date.now();
    const watch = async (): Promise<void> => {
      while (!signal.aborted) {
        try {
          await sleep(statsIntervalMs, undefined, { signal });
        } catch {
          return; // aborted
        }
        const vars = await readJson(`${served.url}/debug/vars`, statsAgent);
        if (signal.aborted || stopping) return;
        const elapsed = `${((Date.now() - startedAt) / 1000).toFixed(1).padStart(6)}s`;
        if (vars === null) print(`${elapsed}  (no answer from ${served.name} /debug/vars)`);
        else print(`${elapsed}  ${which === 'upstream' ? formatUpstreamStats(vars as UpstreamStats) : formatStreamerStats(vars as DebugVars)}`);
      }
    };
    await Promise.race([watch(), died]);
  } finally {
    stopping = true;
    await Promise.all(started.map((child) => child.stop()));
    await statsAgent.destroy().catch(() => {});
  }
}

function optional(flag: string, value: number | undefined): string[] {
  return value === undefined ? [] : [flag, String(value)];
}

/** The lines printed once both servers listen. */
export function introduction(which: ServeWhich, url: string, upstreamUrl: string, statsIntervalMs: number): string[] {
  const every = `every ${statsIntervalMs / 1000} s`;
  if (which === 'upstream') {
    return [
      `mock LLM upstream listening on ${url} (OpenAI-style base URL: ${url}/v1)`,
      `try: curl -N ${url}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"mock","messages":[{"role":"user","content":"hi"}],"stream":true}'`,
      `stats ${every}: streams in flight, completed, cancelled, open connections (Ctrl-C to stop)`,
    ];
  }
  return [
    `${which} streamer listening on ${url} (upstream ${upstreamUrl}/v1)`,
    `try: curl -N ${url}/chat/stream/demo-1`,
    `leave mid-stream: press Ctrl-C in curl, or run: timeout 0.2 curl -N ${url}/chat/stream/demo-$RANDOM`,
    which === 'old'
      ? 'use a new request id each time: old answers 409 for an id whose zombie worker still lives (forever)'
      : 'use a new request id for concurrent requests: an id that is streaming answers 409',
    `stats ${every}: live workers, active handles, heap used, rss (Ctrl-C to stop)`,
  ];
}

export function formatStreamerStats(vars: DebugVars): string {
  const handles = Object.values(vars.activeResources ?? {}).reduce((sum, n) => sum + n, 0);
  return (
    `live workers ${vars.liveWorkers}  active handles ${handles}  ` +
    `heap used ${megabytes(vars.memstats.heapUsed)}  rss ${megabytes(vars.memstats.rss)}`
  );
}

export function formatUpstreamStats(stats: UpstreamStats): string {
  return (
    `streams in flight ${stats.streamsInFlight}  completed ${stats.streamsCompleted}  ` +
    `cancelled ${stats.streamsCancelled}  open connections ${stats.openConnections}`
  );
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * The URL from the child's `listening on URL` line. Rejects with TargetStartError (with the child's
 * last stderr lines) if it exits or stays silent; resolves '' if `signal` aborts first.
 */
function waitForListening(child: ManagedProcess, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const cleanup: Array<() => void> = [];
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      for (const undo of cleanup) undo();
      fn();
    };
    cleanup.push(
      child.onLine((line, stream) => {
        const match = stream === 'stdout' ? LISTENING_LINE.exec(line.trim()) : null;
        if (match?.[1]) settle(() => resolve(match[1] as string));
      }),
    );
    const timer = setTimeout(
      () => settle(() => reject(new TargetStartError(child.name, `did not listen within ${LISTEN_TIMEOUT_MS} ms`, child.tail()))),
      LISTEN_TIMEOUT_MS,
    );
    cleanup.push(() => clearTimeout(timer));
    const onAbort = () => settle(() => resolve(''));
    signal.addEventListener('abort', onAbort, { once: true });
    cleanup.push(() => signal.removeEventListener('abort', onAbort));
    void child.exited.then((exit) =>
      settle(() => {
        const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
        reject(new TargetStartError(child.name, `exited before listening (${how})`, child.tail()));
      }),
    );
    if (signal.aborted) onAbort();
  });
}

async function readJson(url: string, dispatcher: Agent): Promise<unknown> {
  try {
    const response = await request(url, { dispatcher, headersTimeout: 5000, bodyTimeout: 5000 });
    if (response.statusCode !== 200) {
      await response.body.dump();
      return null;
    }
    return await response.body.json();
  } catch {
    return null;
  }
}
